-- Idempotency-Key records are now written in the same transaction as what their request
-- created (see crates/store/src/idempotency.rs), so there is no "pending" state any more: a
-- record exists only with its answer. Pending rows left by the old write path named requests
-- that may or may not have committed; they are dropped so that retries run (the old behaviour
-- after two minutes).
DELETE FROM idempotency_keys WHERE status = 'pending';
ALTER TABLE idempotency_keys DROP COLUMN status;
ALTER TABLE idempotency_keys ALTER COLUMN response_status SET NOT NULL;
ALTER TABLE idempotency_keys ALTER COLUMN response_body SET NOT NULL;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_status CHECK (response_status BETWEEN 100 AND 499);
