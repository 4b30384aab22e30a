-- The write path of the journal, measured (benches/README.md): every foreign-key check is a
-- lookup plus a row lock per inserted row, and a two-line booking inserts five rows into these
-- tables. These checks guard nothing the append path does not already guarantee:
-- * tenant_id: appends hold the tenant's journal_heads row lock (journal_heads references
--   tenants), and tenants are never deleted;
-- * entries -> journal_events: each entry is written in the same transaction, from the same
--   decided line, as the event with its seq.
-- The checks that do guard something stay: entries -> accounts (a line on an unknown account),
-- intents -> documents, intents -> intents (reversal_of), and every append-only trigger, CHECK
-- and the balance trigger.
ALTER TABLE journal_events DROP CONSTRAINT journal_events_tenant_id_fkey;
ALTER TABLE intents DROP CONSTRAINT intents_tenant_id_fkey;
ALTER TABLE entries DROP CONSTRAINT entries_tenant_id_fkey;
ALTER TABLE entries DROP CONSTRAINT entries_tenant_id_seq_fkey;
ALTER TABLE account_balances DROP CONSTRAINT account_balances_tenant_id_fkey;
