-- Webhooks and the event feed (issue 15).
--
-- Transactional outbox: a change writes its feed event (and one delivery row per subscribed
-- webhook) in its own transaction, so an event exists exactly when its change committed —
-- nothing is lost when the process dies, nothing is sent for a change that rolled back. The
-- delivery worker (any replica) claims webhooks with due deliveries with FOR NO KEY UPDATE SKIP
-- LOCKED and a lease (webhooks.delivering_until), posts their deliveries in sequence order,
-- and writes each attempt and the next retry time here, so retries survive restarts.
--
-- `sequence` is the event's place in its tenant's feed: 1, 2, 3 … without gaps, in commit
-- order. It is taken from the tenant's row in event_feed_heads, which the writing transaction
-- updates and so holds locked until it commits: a transaction that numbers later also commits
-- later, so a reader of GET /v1/events that has seen sequence n never misses a smaller one
-- (the classic outbox pitfall of a sequence that commits out of order). Bookings are
-- serialized per tenant by the journal head already; the feed head adds that for periods,
-- invoices, partners, bank and payment-run changes. Writers take the feed head last, after
-- the journal head, so the two locks are always taken in one order.

-- A UUID v7 (time-ordered) for rows made in SQL (the delivery rows of the fan-out).
CREATE FUNCTION kontor_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(
            set_bit(
                overlay(uuid_send(gen_random_uuid())
                        placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1),
            53, 1),
        'hex')::uuid
$$;

CREATE TABLE webhooks (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    url             text NOT NULL CHECK (length(url) <= 2000),
    -- Event names, or {'*'} for all (also events added later).
    events          text[] NOT NULL CHECK (cardinality(events) > 0),
    description     text CHECK (length(description) <= 500),
    active          boolean NOT NULL DEFAULT true,
    -- The signing secret (whsec_…). Kept in plain text because every delivery signs with it;
    -- it is returned only when it is made (create, rotate-secret).
    secret          text NOT NULL,
    -- Why the service disabled the webhook (NULL when the owner did, or it is active).
    disabled_reason text,
    -- A delivery worker's lease: until then, no other worker posts this webhook's deliveries,
    -- so they go out one after the other in sequence order across replicas. A worker that
    -- dies leaves the lease to run out.
    delivering_until timestamptz,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE event_feed_heads (
    tenant_id     uuid PRIMARY KEY REFERENCES tenants (id),
    last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);

CREATE TABLE feed_events (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    sequence   bigint NOT NULL CHECK (sequence > 0),
    id         uuid NOT NULL,
    event      text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL,
    data       jsonb NOT NULL,
    -- Makes a derived event unique (invoice.overdue: 'invoice.overdue:<invoice id>'), so that
    -- the scheduled job emits it once however often and on however many replicas it runs.
    dedupe_key text,
    PRIMARY KEY (tenant_id, sequence),
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX feed_events_dedupe ON feed_events (tenant_id, dedupe_key)
    WHERE dedupe_key IS NOT NULL;

-- One delivery per event and webhook; its id is the X-Kontor-Delivery / Idempotency-Key of
-- every attempt.
CREATE TABLE webhook_deliveries (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    webhook_id       uuid NOT NULL,
    event_id         uuid NOT NULL,
    sequence         bigint NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    -- The attempts made before the last redelivery: the retry schedule starts over there.
    round_start      integer NOT NULL DEFAULT 0,
    -- When the next attempt is due (pending only). A new delivery is due at -infinity so that
    -- the worker takes new deliveries first, in sequence order.
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, webhook_id, event_id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES feed_events (tenant_id, id),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, sequence)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries
    (tenant_id, webhook_id, next_attempt_at, sequence) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (tenant_id, webhook_id, sequence DESC);

CREATE TABLE webhook_attempts (
    tenant_id    uuid NOT NULL,
    delivery_id  uuid NOT NULL,
    attempt      integer NOT NULL CHECK (attempt > 0),
    started_at   timestamptz NOT NULL,
    duration_ms  integer NOT NULL,
    status_code  integer,
    error        text,
    PRIMARY KEY (tenant_id, delivery_id, attempt),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
