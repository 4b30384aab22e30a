-- Issue 10: existing bookings linked by a match — by one transaction's reconcile
-- (`journal_entry`, mode linked) or by a match group's `journal_entry` allocations, several
-- per group. `active` mirrors the match's end, as for bank_match_transactions, so that one
-- booking is linked by one active match at most — enforced here, across replicas.
CREATE TABLE bank_match_links (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    match_id  uuid NOT NULL,
    intent_id uuid NOT NULL,
    active    boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, match_id, intent_id),
    FOREIGN KEY (tenant_id, match_id) REFERENCES bank_matches (tenant_id, id),
    FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, intent_id)
);
CREATE UNIQUE INDEX bank_match_links_one_active ON bank_match_links (tenant_id, intent_id)
    WHERE active;

-- A link only ends, once; it is never deleted.
CREATE FUNCTION kontor_bank_match_link_ends_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'kontor: bank match links are ended, not deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT OLD.active OR NEW.active
       OR (NEW.tenant_id, NEW.match_id, NEW.intent_id) IS DISTINCT FROM
          (OLD.tenant_id, OLD.match_id, OLD.intent_id) THEN
        RAISE EXCEPTION 'kontor: a bank match link only ends, once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER bank_match_links_end_once BEFORE UPDATE OR DELETE ON bank_match_links
    FOR EACH ROW EXECUTE FUNCTION kontor_bank_match_link_ends_once();

-- The links of the linked matches made before this table.
INSERT INTO bank_match_links (tenant_id, match_id, intent_id, active)
SELECT tenant_id, id, intent_id, ended_at IS NULL FROM bank_matches WHERE mode = 'linked';

-- Bank transactions carry the statement's exchange rate (issue 10): what a foreign-currency
-- account's reconciliation converts with.
COMMENT ON COLUMN bank_transactions.fx_rate IS
    'units of the account currency per 1 unit of the base currency, from the statement (camt CcyXchg) or the import row';

-- Documents (statement files of up to 256 MiB, invoices, receipts) are compressed with lz4
-- where the server has it: several times faster to write than the default pglz, for what is
-- read back byte for byte (GoBD: the original unchanged) all the same.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings
                WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE document_blobs ALTER COLUMN content SET COMPRESSION lz4;
    END IF;
END;
$$;
