-- Bank: bank accounts, imported statements and their transactions, matches of transactions
-- to bookings and open items, evidence; cash-discount (Skonto) terms of invoices; the chart
-- roles of discounts, bank fees and money in transit.
--
-- Bank transactions are facts from the bank: written once by an import, never changed (only
-- dismissing marks one). A match is a record ABOUT the journal, like an invoice: it points to
-- the intent that booked it (mode `booked`) or to the existing booking it was linked to (mode
-- `linked`). Undoing a match ends it (`ended_at`; a booked one is reversed in the journal);
-- it is never removed, so who matched what and when stays traceable (GoBD).

-- ---------------------------------------------------------------------------------------
-- Cash-discount terms on invoices (an addition to seed 003): `percent` off when paid within
-- `days` of the invoice date. Both or neither.
ALTER TABLE invoices
    ADD COLUMN cash_discount_percent numeric CHECK (cash_discount_percent > 0 AND cash_discount_percent < 100),
    ADD COLUMN cash_discount_days    integer CHECK (cash_discount_days BETWEEN 1 AND 366),
    ADD CONSTRAINT invoices_cash_discount_both
        CHECK ((cash_discount_percent IS NULL) = (cash_discount_days IS NULL));

-- Cash-discount terms are part of the invoice as issued: fixed like its amounts.
CREATE OR REPLACE FUNCTION kontor_invoice_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: invoices are cancelled by reversing their booking, not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.direction, NEW.type, NEW.partner_id, NEW.invoice_number,
        NEW.invoice_date, NEW.currency, NEW.total_net, NEW.total_tax, NEW.total_gross,
        NEW.document_id, NEW.created_by, NEW.created_at,
        NEW.cash_discount_percent, NEW.cash_discount_days)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.id, OLD.direction, OLD.type, OLD.partner_id, OLD.invoice_number,
        OLD.invoice_date, OLD.currency, OLD.total_net, OLD.total_tax, OLD.total_gross,
        OLD.document_id, OLD.created_by, OLD.created_at,
        OLD.cash_discount_percent, OLD.cash_discount_days) THEN
        RAISE EXCEPTION 'kontor: only notes, due_date and intent_id of an invoice may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

-- A discount taken is applied to the open item like a payment, with its own kind.
ALTER TABLE open_item_applications DROP CONSTRAINT open_item_applications_kind_check;
ALTER TABLE open_item_applications
    ADD CONSTRAINT open_item_applications_kind_check
        CHECK (kind IN ('payment', 'write_off', 'discount'));

-- ---------------------------------------------------------------------------------------
-- Chart roles (fixtures/charts): discounts granted and received per VAT rate, bank fees,
-- money in transit. Tenants created before get the accounts their chart now has and the roles.
INSERT INTO accounts (tenant_id, number, name, type, category, report_group, is_system)
SELECT t.id, a.number, a.name, 'expense', 'material', 'pl.5a', true
  FROM tenants t
  JOIN (VALUES ('skr03', '3731', 'Erhaltene Skonti 7 % Vorsteuer'),
               ('skr04', '5731', 'Erhaltene Skonti 7 % Vorsteuer')) AS a (chart, number, name)
    ON a.chart = t.chart
ON CONFLICT (tenant_id, number) DO NOTHING;

INSERT INTO account_roles (tenant_id, role, number)
SELECT t.id, r.role, r.number
  FROM tenants t
  JOIN (VALUES ('skr03', 'discount_granted_19', '8736'),
               ('skr03', 'discount_granted_7', '8731'),
               ('skr03', 'discount_received_19', '3736'),
               ('skr03', 'discount_received_7', '3731'),
               ('skr03', 'bank_fees', '4970'),
               ('skr03', 'money_in_transit', '1360'),
               ('skr04', 'discount_granted_19', '4736'),
               ('skr04', 'discount_granted_7', '4731'),
               ('skr04', 'discount_received_19', '5736'),
               ('skr04', 'discount_received_7', '5731'),
               ('skr04', 'bank_fees', '6855'),
               ('skr04', 'money_in_transit', '1460')) AS r (chart, role, number)
    ON r.chart = t.chart
 WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = t.id AND a.number = r.number)
ON CONFLICT (tenant_id, role) DO NOTHING;

-- ---------------------------------------------------------------------------------------
-- Bank accounts. `ledger_account` is the account of the chart the bank posts to; one bank
-- account per ledger account. IBAN and BIC in canonical form, validated by the service.
CREATE TABLE bank_accounts (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    iban           text,
    bic            text,
    -- The bank's own account number (MT940 :25: BLZ/Konto, camt Othr/Id).
    account_number text,
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    ledger_account text NOT NULL,
    created_by     jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, ledger_account),
    FOREIGN KEY (tenant_id, ledger_account) REFERENCES accounts (tenant_id, number)
);
CREATE UNIQUE INDEX bank_accounts_iban ON bank_accounts (tenant_id, iban) WHERE iban IS NOT NULL;

-- Only the name of a bank account changes; nothing is deleted (transactions point to it).
CREATE FUNCTION kontor_bank_account_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: bank accounts are not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.iban, NEW.bic, NEW.account_number, NEW.currency,
        NEW.ledger_account, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.id, OLD.iban, OLD.bic, OLD.account_number, OLD.currency,
        OLD.ledger_account, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'kontor: only the name of a bank account may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER bank_accounts_fixed BEFORE UPDATE OR DELETE ON bank_accounts
    FOR EACH ROW EXECUTE FUNCTION kontor_bank_account_is_fixed();

-- One import: a file (camt, mt940, csv) or a JSON request. `document_id` keeps the file as
-- uploaded (evidence), when it came as a file.
CREATE TABLE bank_import_batches (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    id                 uuid NOT NULL,
    bank_account_id    uuid NOT NULL,
    format             text NOT NULL CHECK (format IN ('camt', 'mt940', 'csv', 'json')),
    file_name          text,
    document_id        uuid,
    total_rows         integer NOT NULL CHECK (total_rows >= 0),
    imported           integer NOT NULL CHECK (imported >= 0),
    skipped_duplicates integer NOT NULL CHECK (skipped_duplicates >= 0),
    actor              jsonb NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_account_id) REFERENCES bank_accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
CREATE TRIGGER bank_import_batches_append_only BEFORE UPDATE OR DELETE ON bank_import_batches
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- The statements of an import with their balances and balance check. A statement whose
-- balances do not add up is imported but flagged (`balance_ok` false): never silent.
CREATE TABLE bank_statements (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    batch_id         uuid NOT NULL,
    bank_account_id  uuid NOT NULL,
    statement_id     text,
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    opening_balance  numeric,
    closing_balance  numeric,
    computed_closing numeric,
    difference       numeric,
    balance_ok       boolean NOT NULL,
    -- The statement's first and last booking date (NULL when it has no transactions).
    from_date        date,
    to_date          date,
    transactions     integer NOT NULL CHECK (transactions >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES bank_import_batches (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_account_id) REFERENCES bank_accounts (tenant_id, id)
);
CREATE INDEX bank_statements_account ON bank_statements (tenant_id, bank_account_id, to_date);
CREATE TRIGGER bank_statements_append_only BEFORE UPDATE OR DELETE ON bank_statements
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- One transaction as the bank reported it. `fingerprint` (blake3, bank::fingerprint) makes a
-- re-import of the same or an overlapping file import nothing twice. `raw` is its source (the
-- camt element, the MT940 lines, the CSV line, the JSON row).
CREATE TABLE bank_transactions (
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    id                uuid NOT NULL,
    bank_account_id   uuid NOT NULL,
    batch_id          uuid NOT NULL,
    statement_id      uuid,
    fingerprint       bytea NOT NULL CHECK (length(fingerprint) = 32),
    booking_date      date NOT NULL,
    value_date        date,
    amount            numeric NOT NULL,
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The rate to the base currency when the statement gives one (foreign-currency accounts).
    fx_rate           numeric CHECK (fx_rate > 0),
    counterparty_name text,
    counterparty_iban text,
    remittance_info   text,
    end_to_end_id     text,
    bank_reference    text,
    raw               text NOT NULL DEFAULT '',
    -- Dismissed: needs no match (a line the bank reverses itself, a duplicate of the bank's).
    dismissed_at      timestamptz,
    dismissed_by      jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, bank_account_id, fingerprint),
    CHECK ((dismissed_at IS NULL) = (dismissed_by IS NULL)),
    FOREIGN KEY (tenant_id, bank_account_id) REFERENCES bank_accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES bank_import_batches (tenant_id, id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES bank_statements (tenant_id, id)
);
CREATE INDEX bank_transactions_account_date
    ON bank_transactions (tenant_id, bank_account_id, booking_date, id);
CREATE INDEX bank_transactions_date ON bank_transactions (tenant_id, booking_date, id);
CREATE INDEX bank_transactions_end_to_end
    ON bank_transactions (tenant_id, end_to_end_id) WHERE end_to_end_id IS NOT NULL;

-- Only the dismissal of a transaction changes (set, or cleared again).
CREATE FUNCTION kontor_bank_transaction_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: bank transactions are not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.bank_account_id, NEW.batch_id, NEW.statement_id,
        NEW.fingerprint, NEW.booking_date, NEW.value_date, NEW.amount, NEW.currency,
        NEW.fx_rate, NEW.counterparty_name, NEW.counterparty_iban, NEW.remittance_info,
        NEW.end_to_end_id, NEW.bank_reference, NEW.raw, NEW.created_at)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.id, OLD.bank_account_id, OLD.batch_id, OLD.statement_id,
        OLD.fingerprint, OLD.booking_date, OLD.value_date, OLD.amount, OLD.currency,
        OLD.fx_rate, OLD.counterparty_name, OLD.counterparty_iban, OLD.remittance_info,
        OLD.end_to_end_id, OLD.bank_reference, OLD.raw, OLD.created_at) THEN
        RAISE EXCEPTION 'kontor: a bank transaction is as the bank reported it; only its dismissal changes'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER bank_transactions_fixed BEFORE UPDATE OR DELETE ON bank_transactions
    FOR EACH ROW EXECUTE FUNCTION kontor_bank_transaction_is_fixed();

-- A match: one transaction reconciled (POST …/reconcile) or a match group (POST
-- /v1/bank-match-groups) of several transactions with allocations and adjustments.
-- mode `linked`: an existing booking (intent_id) matched, nothing booked; `booked`: intent_id
-- was booked by the match. `detail` keeps the request as decided: candidate kind and id, open
-- item account, account and tax code, allocations, adjustments. Unmatching ends it
-- (ended_at/ended_by, and for `booked` the reversal's intent).
CREATE TABLE bank_matches (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    id                 uuid NOT NULL,
    is_group           boolean NOT NULL,
    mode               text NOT NULL CHECK (mode IN ('linked', 'booked')),
    intent_id          uuid NOT NULL,
    detail             jsonb NOT NULL,
    actor              jsonb NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    ended_at           timestamptz,
    ended_by           jsonb,
    reversal_intent_id uuid,
    PRIMARY KEY (tenant_id, id),
    CHECK ((ended_at IS NULL) = (ended_by IS NULL)),
    CHECK (reversal_intent_id IS NULL OR (mode = 'booked' AND ended_at IS NOT NULL)),
    FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, intent_id),
    FOREIGN KEY (tenant_id, reversal_intent_id) REFERENCES intents (tenant_id, intent_id)
);
-- An existing booking is linked to one active match at most.
CREATE UNIQUE INDEX bank_matches_linked_intent ON bank_matches (tenant_id, intent_id)
    WHERE ended_at IS NULL AND mode = 'linked';
CREATE INDEX bank_matches_intent ON bank_matches (tenant_id, intent_id);

-- Only the end of a match is written later, once.
CREATE FUNCTION kontor_bank_match_ends_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: bank matches are ended, not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.ended_at IS NOT NULL
       OR (NEW.tenant_id, NEW.id, NEW.is_group, NEW.mode, NEW.intent_id, NEW.detail, NEW.actor,
           NEW.created_at)
          IS DISTINCT FROM
          (OLD.tenant_id, OLD.id, OLD.is_group, OLD.mode, OLD.intent_id, OLD.detail, OLD.actor,
           OLD.created_at) THEN
        RAISE EXCEPTION 'kontor: a bank match only ends, once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER bank_matches_end_once BEFORE UPDATE OR DELETE ON bank_matches
    FOR EACH ROW EXECUTE FUNCTION kontor_bank_match_ends_once();

-- The transactions of a match. `active` mirrors the match's end (false once it ended), so
-- that a transaction is in one active match at most — enforced here, across replicas.
CREATE TABLE bank_match_transactions (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    match_id            uuid NOT NULL,
    bank_transaction_id uuid NOT NULL,
    active              boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, match_id, bank_transaction_id),
    FOREIGN KEY (tenant_id, match_id) REFERENCES bank_matches (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_transaction_id) REFERENCES bank_transactions (tenant_id, id)
);
CREATE UNIQUE INDEX bank_match_transactions_one_active
    ON bank_match_transactions (tenant_id, bank_transaction_id) WHERE active;

-- Evidence of a transaction (seed 003): why it is what it is, for the auditor.
CREATE TABLE bank_transaction_evidence (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    bank_transaction_id uuid NOT NULL,
    evidence_type       text NOT NULL CHECK (length(evidence_type) BETWEEN 1 AND 50),
    title               text,
    note                text,
    document_id         uuid,
    metadata            jsonb CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object'),
    updated_by          jsonb NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, bank_transaction_id),
    FOREIGN KEY (tenant_id, bank_transaction_id) REFERENCES bank_transactions (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
