-- The default accounts of write-offs are chart roles now (fixtures/charts), like every other
-- default account, instead of a table in the application code. Tenants created before get
-- the same accounts their chart names: receivables to Forderungsverluste, payables to other
-- operating income. A tenant whose chart lacks the account (it was removed) gets no role; a
-- write-off then has to name its account.
INSERT INTO account_roles (tenant_id, role, number)
SELECT t.id, r.role, r.number
  FROM tenants t
  JOIN (VALUES ('skr03', 'write_off_receivables', '2400'),
               ('skr03', 'write_off_payables', '8603'),
               ('skr04', 'write_off_receivables', '6930'),
               ('skr04', 'write_off_payables', '4830')) AS r (chart, role, number)
    ON r.chart = t.chart
 WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = t.id AND a.number = r.number)
ON CONFLICT (tenant_id, role) DO NOTHING;
