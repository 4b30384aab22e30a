-- kontor foundation: tenants, keys, chart of accounts, tax codes, the journal event log and its
-- projections, documents. Every key starts with tenant_id so the schema can be distributed by
-- tenant (Citus) without change, and every query a request makes can use an index prefix.

-- Refuses UPDATE / DELETE / TRUNCATE on the tables that make up the journal. A ledger corrects by
-- reversal, never by changing what was written; this holds even if application code is wrong.
CREATE FUNCTION kontor_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kontor: % on % is not allowed; the journal is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE tenants (
    id                      uuid PRIMARY KEY,
    slug                    text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    chart                   text NOT NULL CHECK (chart IN ('skr03', 'skr04')),
    base_currency           text NOT NULL CHECK (base_currency ~ '^[A-Z]{3}$'),
    fiscal_year_start_month smallint NOT NULL CHECK (fiscal_year_start_month BETWEEN 1 AND 12),
    created_at              timestamptz NOT NULL DEFAULT now()
);

-- The head of a tenant's event log. Appends lock this row (SELECT … FOR UPDATE), which
-- serializes writers of one tenant across all replicas, so seq stays gapless and the chain linear.
CREATE TABLE journal_heads (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id),
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_hash  bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
                     CHECK (length(last_hash) = 32)
);

-- Secret key material of this installation (the key for API-key hashes when KONTOR_SECRET is
-- not set). One row.
CREATE TABLE instance_secrets (
    name       text PRIMARY KEY,
    secret     bytea NOT NULL CHECK (length(secret) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    name         text NOT NULL,
    -- The first characters of the key after "kt_": looked up on every request, not secret.
    prefix       text NOT NULL UNIQUE,
    -- blake3 keyed hash of the whole key under the installation secret.
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    scopes       text[] NOT NULL,
    tier         text NOT NULL,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE accounts (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    number       text NOT NULL CHECK (number ~ '^[0-9]{4,9}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type         text NOT NULL CHECK (type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    category     text NOT NULL DEFAULT '',
    report_group text NOT NULL DEFAULT '',
    is_system    boolean NOT NULL DEFAULT false,
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, number)
);
-- Search by name (GET /v1/accounts/search).
CREATE INDEX accounts_name ON accounts (tenant_id, lower(name) text_pattern_ops);

-- The accounts a chart gives a role to (opening_balance, fx_rounding, receivables …).
CREATE TABLE account_roles (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    role      text NOT NULL,
    number    text NOT NULL,
    PRIMARY KEY (tenant_id, role),
    FOREIGN KEY (tenant_id, number) REFERENCES accounts (tenant_id, number)
);

CREATE TABLE tax_codes (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    code                text NOT NULL CHECK (code ~ '^[A-Za-z0-9_.-]{1,20}$'),
    label               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    rate                numeric(7, 4) NOT NULL CHECK (rate >= 0 AND rate <= 100),
    vat_account         text,
    self_assess_account text,
    is_system           boolean NOT NULL DEFAULT false,
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, code),
    FOREIGN KEY (tenant_id, vat_account) REFERENCES accounts (tenant_id, number),
    FOREIGN KEY (tenant_id, self_assess_account) REFERENCES accounts (tenant_id, number)
);

-- Documents are stored once per tenant by their blake3 hash; a document row names a blob.
CREATE TABLE document_blobs (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    hash       bytea NOT NULL CHECK (length(hash) = 32),
    size       bigint NOT NULL,
    content    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, hash)
);

CREATE TABLE documents (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    hash          bytea NOT NULL,
    mime_type     text NOT NULL,
    original_name text NOT NULL,
    size          bigint NOT NULL,
    uploaded_by   jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, hash) REFERENCES document_blobs (tenant_id, hash)
);
-- Documents are evidence (GoBD): once uploaded they are not changed or removed.
CREATE TRIGGER document_blobs_append_only BEFORE UPDATE OR DELETE ON document_blobs
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();
CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- Period states other than "open" (a period without a row is open).
CREATE TABLE period_states (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    period      text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-3])$'),
    status      text NOT NULL CHECK (status IN ('soft_locked', 'lock_requested', 'locked')),
    locked_by   text,
    locked_at   timestamptz,
    closing_hash bytea CHECK (closing_hash IS NULL OR length(closing_hash) = 32),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, period)
);

-- The journal: one event per journal line, numbered per tenant without gaps.
-- hash = blake3(prev_hash || canonical JSON of payload); see docs/audit.md.
CREATE TABLE journal_events (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    seq         bigint NOT NULL CHECK (seq >= 1),
    intent_id   uuid NOT NULL,
    period      text NOT NULL,
    payload     jsonb NOT NULL,
    prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
-- Closing hashes read a period's events in seq order.
CREATE INDEX journal_events_period ON journal_events (tenant_id, period, seq);
CREATE TRIGGER journal_events_append_only BEFORE UPDATE OR DELETE ON journal_events
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();
CREATE TRIGGER journal_events_no_truncate BEFORE TRUNCATE ON journal_events
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_refuse_change();

-- Projection: one row per intent (booking, opening balance, reversal).
CREATE TABLE intents (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    intent_id          uuid NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('booking', 'opening_balance', 'reversal')),
    booking_date       date NOT NULL,
    period             text NOT NULL,
    description        text NOT NULL,
    external_reference text,
    document_id        uuid,
    custom_metadata    jsonb,
    currency           text NOT NULL,
    fx_rate            numeric,
    first_seq          bigint NOT NULL,
    event_count        integer NOT NULL CHECK (event_count >= 1),
    total_debit        numeric NOT NULL,
    total_credit       numeric NOT NULL,
    reversal_of        uuid,
    posting_mode       text,
    reason             text,
    actor              jsonb NOT NULL,
    recorded_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, intent_id),
    CHECK (total_debit = total_credit),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
    FOREIGN KEY (tenant_id, reversal_of) REFERENCES intents (tenant_id, intent_id)
);
CREATE INDEX intents_external_reference ON intents (tenant_id, external_reference)
    WHERE external_reference IS NOT NULL;
-- An intent is reversed at most once: a lost race ends in a unique violation, not a double.
CREATE UNIQUE INDEX intents_reversal_of ON intents (tenant_id, reversal_of) WHERE reversal_of IS NOT NULL;
CREATE TRIGGER intents_append_only BEFORE UPDATE OR DELETE ON intents
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- Projection: journal lines by account and date (GET /v1/accounts/{n}/entries, GET /v1/journal).
-- debit / credit are base-currency amounts; a negative reversal writes negative amounts.
CREATE TABLE entries (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    seq                bigint NOT NULL,
    intent_id          uuid NOT NULL,
    line_no            integer NOT NULL,
    account            text NOT NULL,
    booking_date       date NOT NULL,
    period             text NOT NULL,
    debit              numeric NOT NULL,
    credit             numeric NOT NULL,
    currency           text NOT NULL,
    amount             numeric NOT NULL,
    tax_code           text,
    generated          text,
    description        text NOT NULL,
    line_description   text,
    cost_center        text,
    external_reference text,
    PRIMARY KEY (tenant_id, seq),
    CHECK (debit = 0 OR credit = 0),
    FOREIGN KEY (tenant_id, seq) REFERENCES journal_events (tenant_id, seq),
    FOREIGN KEY (tenant_id, account) REFERENCES accounts (tenant_id, number)
);
CREATE INDEX entries_account_date ON entries (tenant_id, account, booking_date, seq);
CREATE INDEX entries_date ON entries (tenant_id, booking_date, seq);
CREATE INDEX entries_intent ON entries (tenant_id, intent_id);
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- Every statement that writes entries must leave each intent it touches balanced. Appends write
-- all lines of an intent in one statement, so checking the statement's rows is enough and costs
-- no extra lookup.
CREATE FUNCTION kontor_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT tenant_id, intent_id, sum(debit) AS d, sum(credit) AS c INTO bad
      FROM new_entries GROUP BY tenant_id, intent_id HAVING sum(debit) <> sum(credit) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'kontor: intent % is not balanced (debit %, credit %)', bad.intent_id, bad.d, bad.c
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER entries_balanced AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_entries_balanced();

-- Projection: debit and credit per account and period. month_start orders periods by date, so
-- the balance at any date is the sum of the rows before its month plus that month's entries.
CREATE TABLE account_balances (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    account     text NOT NULL,
    period      text NOT NULL,
    month_start date NOT NULL,
    debit       numeric NOT NULL DEFAULT 0,
    credit      numeric NOT NULL DEFAULT 0,
    entry_count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, account, period)
);
CREATE INDEX account_balances_month ON account_balances (tenant_id, account, month_start);

-- Reversals and GET /v1/journal/{intent_id} read an intent's events.
CREATE INDEX journal_events_intent ON journal_events (tenant_id, intent_id);
