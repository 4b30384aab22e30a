-- Payment runs (issue 11): a run pays vendor invoices from one bank account by SEPA credit
-- transfer. It is planned as a draft (items and payments fixed at creation), approved under
-- four eyes, exported as a pain.001 file (stored, so a later export replays the same bytes),
-- then completed (each payment booked and applied to its open items) or cancelled.
--
-- A run is a record ABOUT the journal, like an invoice: its bookings are intents of their own
-- (custom_metadata end_to_end_id + payment_run_id), referenced from the payments here.

CREATE TABLE payment_runs (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    status           text NOT NULL
                         CHECK (status IN ('draft', 'approved', 'exported', 'completed', 'cancelled')),
    label            text CHECK (length(label) <= 200),
    bank_account_id  uuid NOT NULL,
    execution_date   date NOT NULL,
    batch_by_vendor  boolean NOT NULL,
    currency         text NOT NULL CHECK (currency = 'EUR'),
    total_amount     numeric NOT NULL CHECK (total_amount > 0),
    invoice_count    integer NOT NULL CHECK (invoice_count >= 0),
    -- The debtor as planned: the tenant's name, the bank account's IBAN and BIC.
    debtor_name      text NOT NULL,
    debtor_iban      text NOT NULL,
    debtor_bic       text,
    -- Candidates left out at planning, with their reason (payments::Excluded as JSON).
    excluded         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(excluded) = 'array'),
    -- Principals as `kind:id` (four eyes compares these) and as actor objects.
    created_by       text NOT NULL,
    created_actor    jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    approved_by      text,
    approved_at      timestamptz,
    -- The exported file, stored once: later exports replay these bytes.
    exported_by      text,
    exported_at      timestamptz,
    pain_version     text CHECK (pain_version IN ('pain.001.001.09', 'pain.001.001.03')),
    message_id       text,
    sepa_xml         text,
    completed_by     text,
    completed_at     timestamptz,
    cancelled_by     text,
    cancelled_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_account_id) REFERENCES bank_accounts (tenant_id, id),
    -- A file exists exactly from the export on; approval before it.
    CHECK ((sepa_xml IS NULL) = (exported_at IS NULL)),
    CHECK ((sepa_xml IS NULL) = (message_id IS NULL) AND (sepa_xml IS NULL) = (pain_version IS NULL)),
    CHECK (status IN ('draft', 'cancelled') OR approved_at IS NOT NULL),
    CHECK (status NOT IN ('exported', 'completed') OR exported_at IS NOT NULL),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    -- Four eyes, also in the database: the approver is not the creator.
    CHECK (approved_by IS NULL OR approved_by <> created_by)
);
CREATE INDEX payment_runs_list ON payment_runs (tenant_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX payment_runs_message_id ON payment_runs (tenant_id, message_id)
    WHERE message_id IS NOT NULL;

-- The transfers of a run (one SEPA CdtTrfTxInf each). `intent_id` is the booking made on
-- completion.
CREATE TABLE payment_run_payments (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    run_id         uuid NOT NULL,
    position       integer NOT NULL CHECK (position >= 1),
    end_to_end_id  text NOT NULL CHECK (length(end_to_end_id) BETWEEN 1 AND 35),
    vendor_id      uuid NOT NULL,
    creditor_name  text NOT NULL,
    creditor_iban  text NOT NULL,
    creditor_bic   text,
    amount         numeric NOT NULL CHECK (amount > 0),
    remittance     text NOT NULL CHECK (length(remittance) BETWEEN 1 AND 140),
    intent_id      uuid,
    PRIMARY KEY (tenant_id, run_id, position),
    UNIQUE (tenant_id, run_id, end_to_end_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES payment_runs (tenant_id, id),
    FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, intent_id)
);
-- Bank reconciliation looks a statement line's end-to-end id up here as well as in intents.
CREATE INDEX payment_run_payments_e2e ON payment_run_payments (tenant_id, end_to_end_id);

-- The invoices (and netted credit notes) of a run. `amount` is what the run settles on the
-- item: positive for an invoice, negative for a credit note set off; `discount` the Skonto
-- taken. `active` mirrors the run's status (draft, approved or exported), so that an invoice
-- is in one active run at most — enforced by the unique index below, across replicas.
CREATE TABLE payment_run_items (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    run_id         uuid NOT NULL,
    position       integer NOT NULL CHECK (position >= 1),
    invoice_id     uuid NOT NULL,
    vendor_id      uuid NOT NULL,
    invoice_number text NOT NULL,
    invoice_type   text NOT NULL CHECK (invoice_type IN ('invoice', 'credit_note')),
    open_amount    numeric NOT NULL,
    amount         numeric NOT NULL CHECK (amount <> 0),
    discount       numeric NOT NULL CHECK (discount >= 0),
    end_to_end_id  text,
    active         boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, run_id, invoice_id),
    UNIQUE (tenant_id, run_id, position),
    CHECK ((invoice_type = 'invoice') = (amount > 0)),
    FOREIGN KEY (tenant_id, run_id) REFERENCES payment_runs (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id, end_to_end_id)
        REFERENCES payment_run_payments (tenant_id, run_id, end_to_end_id)
);
CREATE UNIQUE INDEX payment_run_items_one_active
    ON payment_run_items (tenant_id, invoice_id) WHERE active;

-- Items are fixed; only `active` goes from true to false (the run completed or was cancelled).
CREATE FUNCTION kontor_payment_run_item_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: payment run items are not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.run_id, NEW.position, NEW.invoice_id, NEW.vendor_id,
        NEW.invoice_number, NEW.invoice_type, NEW.open_amount, NEW.amount, NEW.discount,
        NEW.end_to_end_id)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.run_id, OLD.position, OLD.invoice_id, OLD.vendor_id,
        OLD.invoice_number, OLD.invoice_type, OLD.open_amount, OLD.amount, OLD.discount,
        OLD.end_to_end_id)
       OR (NEW.active AND NOT OLD.active) THEN
        RAISE EXCEPTION 'kontor: a payment run item only stops being active'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER payment_run_items_fixed BEFORE UPDATE OR DELETE ON payment_run_items
    FOR EACH ROW EXECUTE FUNCTION kontor_payment_run_item_is_fixed();

-- Payments are fixed; only the completion's intent is written, once.
CREATE FUNCTION kontor_payment_run_payment_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: payment run payments are not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.run_id, NEW.position, NEW.end_to_end_id, NEW.vendor_id,
        NEW.creditor_name, NEW.creditor_iban, NEW.creditor_bic, NEW.amount, NEW.remittance)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.run_id, OLD.position, OLD.end_to_end_id, OLD.vendor_id,
        OLD.creditor_name, OLD.creditor_iban, OLD.creditor_bic, OLD.amount, OLD.remittance)
       OR OLD.intent_id IS NOT NULL THEN
        RAISE EXCEPTION 'kontor: a payment run payment only gets its booking, once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER payment_run_payments_fixed BEFORE UPDATE OR DELETE ON payment_run_payments
    FOR EACH ROW EXECUTE FUNCTION kontor_payment_run_payment_is_fixed();

-- Runs are not deleted; a stored file is never replaced, and a final run stays final.
CREATE FUNCTION kontor_payment_run_keeps_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: payment runs are cancelled, not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status IN ('completed', 'cancelled')
       OR (OLD.sepa_xml IS NOT NULL AND NEW.sepa_xml IS DISTINCT FROM OLD.sepa_xml)
       OR (NEW.tenant_id, NEW.id, NEW.bank_account_id, NEW.execution_date, NEW.batch_by_vendor,
           NEW.total_amount, NEW.invoice_count, NEW.debtor_name, NEW.debtor_iban,
           NEW.debtor_bic, NEW.created_by, NEW.created_at)
          IS DISTINCT FROM
          (OLD.tenant_id, OLD.id, OLD.bank_account_id, OLD.execution_date, OLD.batch_by_vendor,
           OLD.total_amount, OLD.invoice_count, OLD.debtor_name, OLD.debtor_iban,
           OLD.debtor_bic, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'kontor: a payment run only moves on through its states'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER payment_runs_keep_history BEFORE UPDATE OR DELETE ON payment_runs
    FOR EACH ROW EXECUTE FUNCTION kontor_payment_run_keeps_history();
