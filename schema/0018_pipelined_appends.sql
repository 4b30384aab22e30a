-- Issue 13: pipelined group commit. An appender decides its next batch from the head it keeps in
-- memory while the batch before commits, and writes it with a compare-and-set on the head row
-- (last_seq, last_hash and epoch as it expects them) instead of reading the row under lock
-- first. Everything else a decision depends on and that changes under the head row lock (a
-- period's state, the tenant's settings) bumps epoch, so a batch decided before such a change
-- fails its compare-and-set and is decided again.
ALTER TABLE journal_heads ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
