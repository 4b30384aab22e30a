-- Issue 13: pipelined group commit. An appender decides its next batch from the head it keeps in
-- memory while the batch before commits, and writes it with a compare-and-set on the head row
-- (last_seq, last_hash and epoch as it expects them) instead of reading the row under lock
-- first. Everything else a decision depends on and that changes under the head row lock (a
-- period's state, the tenant's settings) bumps epoch, so a batch decided before such a change
-- fails its compare-and-set and is decided again.
ALTER TABLE journal_heads ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

-- Appends events to a tenant's feed (the webhooks' outbox, schema/0015): numbers them from the
-- tenant's feed head (whose row lock, held until the transaction ends, keeps the sequence in
-- commit order and gapless), writes them, and one delivery per event and active subscribed
-- webhook. The one place that does this: store::webhooks::insert_events calls it, and so does
-- kontor_append_batch for the feed events of a batch's intents. PL/pgSQL rather than SQL: a
-- SQL function's statement is planned again at every call, PL/pgSQL keeps the plan per session.
CREATE FUNCTION kontor_feed_append(
    p_tenant uuid, f_id uuid[], f_event text[], f_version int[], f_data jsonb[], f_dedupe text[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH head AS (
        INSERT INTO event_feed_heads AS h (tenant_id, last_sequence) VALUES (p_tenant, cardinality(f_id))
        ON CONFLICT (tenant_id) DO UPDATE SET last_sequence = h.last_sequence + EXCLUDED.last_sequence
        RETURNING last_sequence
    ), ev AS (
        INSERT INTO feed_events (tenant_id, sequence, id, event, version, created_at, data, dedupe_key)
        SELECT p_tenant, head.last_sequence - cardinality(f_id) + u.ord, u.id, u.event, u.version, now(), u.data, u.dedupe_key
          FROM head, unnest(f_id, f_event, f_version, f_data, f_dedupe)
                     WITH ORDINALITY AS u(id, event, version, data, dedupe_key, ord)
        RETURNING tenant_id, id, event, sequence
    )
    INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, sequence, next_attempt_at)
    SELECT ev.tenant_id, kontor_uuid_v7(), w.id, ev.id, ev.sequence, '-infinity'
      FROM ev JOIN webhooks w ON w.tenant_id = ev.tenant_id AND w.active
                              AND ('*' = ANY (w.events) OR ev.event = ANY (w.events))
     ORDER BY ev.sequence, w.id;
END;
$$;

-- A decided batch in one statement (so in one round trip, and atomically even outside an
-- explicit transaction): the compare-and-set on the head first (the lock order of every writer:
-- head, then projections, then the outbox), then the journal rows, the projections, the
-- batch's feed events (webhooks, schema/0015) and the Idempotency-Key answers. A head that is
-- not as expected raises SQLSTATE KH409 and nothing is written. The columns are the appender's
-- (crates/store/src/appender.rs, `Rows`), one array each.
CREATE FUNCTION kontor_append_batch(
    p_tenant uuid, p_expect_seq bigint, p_expect_hash bytea, p_expect_epoch bigint,
    p_last_seq bigint, p_last_hash bytea,
    e_seq bigint[], e_intent uuid[], e_period text[], e_payload jsonb[], e_prev bytea[],
    e_hash bytea[], e_recorded timestamptz[],
    n_line int[], n_account text[], n_date date[], n_debit numeric[], n_credit numeric[],
    n_currency text[], n_amount numeric[], n_tax text[], n_generated text[], n_description text[],
    n_line_description text[], n_cost_center text[], n_ref text[],
    i_id uuid[], i_kind text[], i_date date[], i_period text[], i_description text[], i_ref text[],
    i_doc uuid[], i_meta jsonb[], i_currency text[], i_fx numeric[], i_first_seq bigint[],
    i_count int[], i_debit numeric[], i_credit numeric[], i_reversal_of uuid[], i_mode text[],
    i_reason text[], i_actor jsonb[], i_recorded timestamptz[],
    b_account text[], b_period text[], b_month date[], b_debit numeric[], b_credit numeric[],
    b_count bigint[],
    d_account text[], d_date date[], d_period text[], d_debit numeric[], d_credit numeric[],
    d_count bigint[],
    f_id uuid[], f_event text[], f_version int[], f_data jsonb[], f_dedupe text[],
    k_key text[], k_hash bytea[], k_status int[], k_type text[], k_body bytea[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    f_last bigint;
BEGIN
    UPDATE journal_heads SET last_seq = p_last_seq, last_hash = p_last_hash
     WHERE tenant_id = p_tenant AND last_seq = p_expect_seq AND last_hash = p_expect_hash
       AND epoch = p_expect_epoch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the journal head of tenant % is no longer at seq %', p_tenant, p_expect_seq
              USING ERRCODE = 'KH409';
    END IF;
    INSERT INTO journal_events (tenant_id, seq, intent_id, period, payload, prev_hash, hash, recorded_at)
    SELECT p_tenant, * FROM unnest(e_seq, e_intent, e_period, e_payload, e_prev, e_hash, e_recorded);
    INSERT INTO intents (tenant_id, intent_id, kind, booking_date, period, description, external_reference,
                         document_id, custom_metadata, currency, fx_rate, first_seq, event_count, total_debit,
                         total_credit, reversal_of, posting_mode, reason, actor, recorded_at)
    SELECT p_tenant, * FROM unnest(i_id, i_kind, i_date, i_period, i_description, i_ref, i_doc, i_meta,
                                   i_currency, i_fx, i_first_seq, i_count, i_debit, i_credit, i_reversal_of,
                                   i_mode, i_reason, i_actor, i_recorded);
    INSERT INTO entries (tenant_id, seq, intent_id, line_no, account, booking_date, period, debit, credit,
                         currency, amount, tax_code, generated, description, line_description, cost_center,
                         external_reference)
    SELECT p_tenant, * FROM unnest(e_seq, e_intent, n_line, n_account, n_date, e_period, n_debit, n_credit,
                                   n_currency, n_amount, n_tax, n_generated, n_description, n_line_description,
                                   n_cost_center, n_ref);
    INSERT INTO account_balances AS b (tenant_id, account, period, month_start, debit, credit, entry_count)
    SELECT p_tenant, * FROM unnest(b_account, b_period, b_month, b_debit, b_credit, b_count)
    ON CONFLICT (tenant_id, account, period) DO UPDATE
       SET debit = b.debit + EXCLUDED.debit, credit = b.credit + EXCLUDED.credit,
           entry_count = b.entry_count + EXCLUDED.entry_count;
    INSERT INTO account_day_balances AS b (tenant_id, account, booking_date, period, debit, credit, entry_count)
    SELECT p_tenant, * FROM unnest(d_account, d_date, d_period, d_debit, d_credit, d_count)
    ON CONFLICT (tenant_id, account, booking_date, period) DO UPDATE
       SET debit = b.debit + EXCLUDED.debit, credit = b.credit + EXCLUDED.credit,
           entry_count = b.entry_count + EXCLUDED.entry_count;
    IF cardinality(f_id) > 0 THEN
        PERFORM kontor_feed_append(p_tenant, f_id, f_event, f_version, f_data, f_dedupe);
    END IF;
    IF cardinality(k_key) > 0 THEN
        INSERT INTO idempotency_keys (tenant_id, key, request_hash, response_status, response_type, response_body)
        SELECT p_tenant, * FROM unnest(k_key, k_hash, k_status, k_type, k_body);
    END IF;
END;
$$;
