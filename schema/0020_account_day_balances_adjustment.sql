-- Issue 13: the balance through a date adds the day rows of its fiscal year's period 13 that are
-- dated before the date's month (period 13's balance row sits on the year's last month, its
-- bookings on any day of the year). The primary key leads with the account and the date, so
-- finding them took a scan of up to a year of day rows per account (every account's, for a
-- trial balance). This index holds the period-13 day rows only: a few per year-end closing,
-- and no cost for the appender's rows of ordinary periods.
CREATE INDEX account_day_balances_adjustment
    ON account_day_balances (tenant_id, period, account, booking_date)
    WHERE period LIKE '%-13';
