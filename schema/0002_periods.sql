-- Periods: lock requests (four eyes), closings with their closing hashes, and a log of every
-- state change. period_states (0001) holds the current state of every period that is not open.

ALTER TABLE period_states
    ADD COLUMN request_id uuid,
    ADD COLUMN status_before_request text;

-- A locked period is final: its state row cannot change or disappear.
CREATE FUNCTION kontor_locked_period_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'locked' THEN
        RAISE EXCEPTION 'kontor: period % is locked; a locked period is final', OLD.period
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER period_states_locked_final BEFORE UPDATE OR DELETE ON period_states
    FOR EACH ROW EXECUTE FUNCTION kontor_locked_period_is_final();

CREATE TABLE period_lock_requests (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    period       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('pending', 'approved', 'cancelled')),
    requested_by text NOT NULL,
    created_at   timestamptz NOT NULL,
    decided_by   text,
    decided_at   timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- At most one pending request per period.
CREATE UNIQUE INDEX period_lock_requests_pending ON period_lock_requests (tenant_id, period) WHERE status = 'pending';

-- One row per locked period, in lock order. closing_hash = blake3(previous_closing_hash ||
-- period id || hashes of the period's events in seq order); see docs/audit.md.
CREATE TABLE period_closings (
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    period                text NOT NULL,
    lock_seq              integer NOT NULL CHECK (lock_seq >= 1),
    previous_period       text,
    previous_closing_hash bytea NOT NULL CHECK (length(previous_closing_hash) = 32),
    closing_hash          bytea NOT NULL CHECK (length(closing_hash) = 32),
    event_count           bigint NOT NULL,
    request_id            uuid NOT NULL,
    requested_by          text NOT NULL,
    approved_by           text NOT NULL CHECK (approved_by <> requested_by),
    locked_at             timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, period),
    UNIQUE (tenant_id, lock_seq)
);
CREATE TRIGGER period_closings_append_only BEFORE UPDATE OR DELETE ON period_closings
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- Who changed which period's state when: the history of period_states.
CREATE TABLE period_events (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    period      text NOT NULL,
    action      text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    request_id  uuid,
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX period_events_period ON period_events (tenant_id, period, at);
CREATE TRIGGER period_events_append_only BEFORE UPDATE OR DELETE ON period_events
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();
