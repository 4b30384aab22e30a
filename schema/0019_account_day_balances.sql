-- Issue 13: the balance of an account at any date in O(periods). account_balances keeps whole
-- periods (months); this projection keeps days, so the balance through a date is the period rows
-- before its month plus at most 31 day rows of that month, not the month's entries. Written by
-- the appender in the batch's transaction, like account_balances. `period` is kept because an
-- adjustment period (13) is dated inside the fiscal year's months.
CREATE TABLE account_day_balances (
    tenant_id    uuid NOT NULL,
    account      text NOT NULL,
    booking_date date NOT NULL,
    period       text NOT NULL,
    debit        numeric NOT NULL DEFAULT 0,
    credit       numeric NOT NULL DEFAULT 0,
    entry_count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, account, booking_date, period)
);

INSERT INTO account_day_balances (tenant_id, account, booking_date, period, debit, credit, entry_count)
SELECT tenant_id, account, booking_date, period, sum(debit), sum(credit), count(*)
  FROM entries
 GROUP BY tenant_id, account, booking_date, period;
