-- Receivables and payables: customers and vendors with their personal (debtor / creditor)
-- accounts, outgoing and incoming invoices with their lines, and the payments and write-offs
-- applied to them. Invoices, lines and applications are records ABOUT the journal: each points
-- to the intent that booked it, and the journal stays the only place money moves. Open amounts
-- and statuses are derived from these rows and the intents (reversed or not), never stored, so
-- they cannot drift from the ledger. Tenant id leads every key, as in 0001.

-- Personal accounts (DATEV: debtors 10000-69999, creditors 70000-99999) name the collective
-- account (Sammelkonto) their postings roll up into: balances and entries of 1400 / 1600 (SKR03)
-- or 1200 / 3300 (SKR04) include those of every account that names it here. One level only: a
-- collective account does not itself roll up.
ALTER TABLE accounts ADD COLUMN collective_account text;
ALTER TABLE accounts
    ADD CONSTRAINT accounts_collective_account_fk
        FOREIGN KEY (tenant_id, collective_account) REFERENCES accounts (tenant_id, number),
    ADD CONSTRAINT accounts_collective_account_not_self
        CHECK (collective_account IS NULL OR collective_account <> number);
-- Balances of a collective account look up its personal accounts.
CREATE INDEX accounts_collective ON accounts (tenant_id, collective_account)
    WHERE collective_account IS NOT NULL;

-- Customers and vendors in one table: same master data, told apart by kind. Each has its own
-- personal account for good (account_number never changes); DELETE deactivates (is_active),
-- because invoices, payments and the account's history keep pointing to the partner.
CREATE TABLE partners (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('customer', 'vendor')),
    account_number  text NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Steuernummer, as given.
    tax_id          text,
    -- EU VAT ID, IBAN and BIC in canonical form (upper case, no spaces); validated by the service.
    vat_id          text,
    iban            text,
    bic             text,
    -- {street, addition, postal_code, city, country}
    address         jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),
    default_account text,
    notes           text,
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- Target of invoices' (partner, kind) reference, so an outgoing invoice cannot name a vendor.
    UNIQUE (tenant_id, id, kind),
    UNIQUE (tenant_id, account_number),
    FOREIGN KEY (tenant_id, account_number) REFERENCES accounts (tenant_id, number),
    FOREIGN KEY (tenant_id, default_account) REFERENCES accounts (tenant_id, number)
);
-- Lists are per kind, ordered and searched by name.
CREATE INDEX partners_name ON partners (tenant_id, kind, lower(name));

-- A partner is never deleted and keeps its kind and personal account.
CREATE FUNCTION kontor_partner_keeps_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: partners are deactivated, not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.kind, NEW.account_number, NEW.created_at)
       IS DISTINCT FROM (OLD.tenant_id, OLD.id, OLD.kind, OLD.account_number, OLD.created_at) THEN
        RAISE EXCEPTION 'kontor: a partner keeps its id, kind and personal account'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER partners_keep_identity BEFORE UPDATE OR DELETE ON partners
    FOR EACH ROW EXECUTE FUNCTION kontor_partner_keeps_identity();

-- Outgoing (ours, to customers) and incoming (vendors', to us) invoices and credit notes.
-- Amounts are positive for both types; the type gives the direction of the booking.
CREATE TABLE invoices (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
    type           text NOT NULL CHECK (type IN ('invoice', 'credit_note')),
    partner_id     uuid NOT NULL,
    partner_kind   text NOT NULL GENERATED ALWAYS AS
                       (CASE direction WHEN 'outgoing' THEN 'customer' ELSE 'vendor' END) STORED,
    invoice_number text NOT NULL CHECK (length(invoice_number) BETWEEN 1 AND 100),
    invoice_date   date NOT NULL,
    due_date       date CHECK (due_date >= invoice_date),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_net      numeric NOT NULL,
    total_tax      numeric NOT NULL,
    total_gross    numeric NOT NULL CHECK (total_gross > 0),
    -- The booking of the invoice: written with it, or an existing one it was linked to. A
    -- reversed booking makes the invoice cancelled; PATCH may then link a new one.
    intent_id      uuid NOT NULL,
    document_id    uuid,
    notes          text,
    created_by     jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK (total_net + total_tax = total_gross),
    FOREIGN KEY (tenant_id, partner_id, partner_kind) REFERENCES partners (tenant_id, id, kind),
    FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, intent_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
-- Our own invoice numbers are unique per tenant (§ 14 UStG: each number once). A vendor's
-- numbers are unique per vendor: two vendors may well both send a "1001".
CREATE UNIQUE INDEX invoices_outgoing_number ON invoices (tenant_id, invoice_number)
    WHERE direction = 'outgoing';
CREATE UNIQUE INDEX invoices_incoming_number ON invoices (tenant_id, partner_id, invoice_number)
    WHERE direction = 'incoming';
-- A booking belongs to one invoice at most.
CREATE UNIQUE INDEX invoices_intent ON invoices (tenant_id, intent_id);
-- Lists: per side by date; per partner.
CREATE INDEX invoices_side_date ON invoices (tenant_id, direction, invoice_date, id);
CREATE INDEX invoices_partner ON invoices (tenant_id, partner_id, invoice_date);

-- Only notes, due_date and the intent link of an invoice change; nothing is deleted.
CREATE FUNCTION kontor_invoice_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: invoices are cancelled by reversing their booking, not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.direction, NEW.type, NEW.partner_id, NEW.invoice_number,
        NEW.invoice_date, NEW.currency, NEW.total_net, NEW.total_tax, NEW.total_gross,
        NEW.document_id, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.id, OLD.direction, OLD.type, OLD.partner_id, OLD.invoice_number,
        OLD.invoice_date, OLD.currency, OLD.total_net, OLD.total_tax, OLD.total_gross,
        OLD.document_id, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'kontor: only notes, due_date and intent_id of an invoice may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoices_fixed BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION kontor_invoice_is_fixed();

-- What changed on an invoice, by whom (GoBD: changes stay traceable).
CREATE TABLE invoice_changes (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    invoice_id uuid NOT NULL,
    id         uuid NOT NULL,
    -- {"field": {"from": …, "to": …}, …}
    changes    jsonb NOT NULL,
    actor      jsonb NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, invoice_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE TRIGGER invoice_changes_append_only BEFORE UPDATE OR DELETE ON invoice_changes
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- The lines as invoiced, with the amounts the service computed (net = quantity × unit_price,
-- tax = net × rate / 100, each rounded half away from zero to the currency's minor unit).
CREATE TABLE invoice_lines (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    invoice_id    uuid NOT NULL,
    line_no       integer NOT NULL CHECK (line_no >= 1),
    description   text NOT NULL DEFAULT '',
    quantity      numeric NOT NULL CHECK (quantity > 0),
    unit_price    numeric NOT NULL,
    tax_code      text,
    -- The rate at the time of the invoice: a tax code's rate may be edited later.
    tax_rate      numeric NOT NULL DEFAULT 0,
    -- Reverse charge / intra-EU acquisition: tax self-assessed, none on the invoice.
    self_assessed boolean NOT NULL DEFAULT false,
    account       text NOT NULL,
    net           numeric NOT NULL,
    tax           numeric NOT NULL,
    gross         numeric NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, line_no),
    CHECK (net + tax = gross),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, account) REFERENCES accounts (tenant_id, number),
    FOREIGN KEY (tenant_id, tax_code) REFERENCES tax_codes (tenant_id, code)
);
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- Payments and write-offs applied to an invoice (an open item), each with the intent that
-- booked it. One whose intent is reversed no longer counts; it is never removed.
CREATE TABLE open_item_applications (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    invoice_id       uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('payment', 'write_off')),
    amount           numeric NOT NULL CHECK (amount > 0),
    application_date date NOT NULL,
    counter_account  text NOT NULL,
    -- Not unique: a later bank match may settle several invoices with one booking.
    intent_id        uuid NOT NULL,
    actor            jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, intent_id),
    FOREIGN KEY (tenant_id, counter_account) REFERENCES accounts (tenant_id, number)
);
CREATE INDEX open_item_applications_invoice
    ON open_item_applications (tenant_id, invoice_id, application_date);
-- Which open items a booking settled (a bank match looks its booking up).
CREATE INDEX open_item_applications_intent ON open_item_applications (tenant_id, intent_id);
CREATE TRIGGER open_item_applications_append_only BEFORE UPDATE OR DELETE ON open_item_applications
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_change();

-- The derivations every read shares, in one place. `as_of` NULL means "everything booked";
-- a date means "as the books stood at the end of that day" (reversals and applications dated
-- later do not count yet).

-- True when the intent is reversed by a reversal dated on or before as_of.
CREATE FUNCTION kontor_is_reversed(p_tenant uuid, p_intent uuid, p_as_of date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM intents r
                    WHERE r.tenant_id = p_tenant AND r.reversal_of = p_intent
                      AND (p_as_of IS NULL OR r.booking_date <= p_as_of))
$$;

-- Payments and write-offs applied to an invoice (positive), reversed ones left out.
CREATE FUNCTION kontor_invoice_settled(p_tenant uuid, p_invoice uuid, p_as_of date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(a.amount), 0) FROM open_item_applications a
     WHERE a.tenant_id = p_tenant AND a.invoice_id = p_invoice
       AND (p_as_of IS NULL OR a.application_date <= p_as_of)
       AND NOT kontor_is_reversed(a.tenant_id, a.intent_id, p_as_of)
$$;

-- The status rule of receivables::status::derive_status, for filtering lists in SQL. Keep
-- both the same: cancelled, paid, overdue, partially_paid, open, in that order.
CREATE FUNCTION kontor_invoice_status(p_gross numeric, p_settled numeric, p_due date,
                                      p_cancelled boolean, p_today date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_cancelled THEN 'cancelled'
        WHEN p_gross - p_settled <= 0 THEN 'paid'
        WHEN p_due IS NOT NULL AND p_due < p_today THEN 'overdue'
        WHEN p_settled > 0 THEN 'partially_paid'
        ELSE 'open'
    END
$$;
