-- Issue 14: VSt0, the input-VAT code of purchases without VAT (EN 16931 categories E, Z, G and
-- O of e-invoices: exempt, zero rated, export, outside the scope), seeded by both charts since
-- this migration; existing tenants get it here. No VAT account, no Kennzahl, no BU-Schlüssel.
INSERT INTO tax_codes (tenant_id, code, label, description, rate, vat_account, self_assess_account,
                       is_system, vat_side, base_kennzahl, tax_kennzahl, input_tax_kennzahl, datev_bu_key)
SELECT tn.id, 'VSt0', 'Vorsteuer 0 %',
       'Eingangsleistungen ohne Vorsteuer: steuerfrei, nicht steuerbar, zum Nullsatz oder Ausfuhr (EN 16931 Kategorien E, Z, G, O).',
       0, NULL, NULL, true, 'purchase', NULL, NULL, NULL, NULL
  FROM tenants tn
ON CONFLICT (tenant_id, code) DO NOTHING;
