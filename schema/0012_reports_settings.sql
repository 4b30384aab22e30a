-- Reports, the DATEV export and tenant settings (issue 12).

-- Tenant settings. The DATEV numbers are unset until the tenant enters them: the export
-- refuses to run without them (400 invalid_datev_settings) rather than inventing numbers.
-- account_length is DATEV's Sachkontenlänge (the standard charts use 4-digit accounts).
-- vat_method: 'soll' (Sollversteuerung, the default) or 'ist' (§ 20 UStG).
-- settings_version counts changes, so a replica can tell that its copy is stale.
ALTER TABLE tenants
    ADD COLUMN datev_consultant_number integer
        CHECK (datev_consultant_number BETWEEN 1001 AND 9999999),
    ADD COLUMN datev_client_number integer
        CHECK (datev_client_number BETWEEN 1 AND 99999),
    ADD COLUMN account_length smallint NOT NULL DEFAULT 4
        CHECK (account_length BETWEEN 4 AND 8),
    ADD COLUMN vat_method text NOT NULL DEFAULT 'soll'
        CHECK (vat_method IN ('soll', 'ist')),
    ADD COLUMN settings_version bigint NOT NULL DEFAULT 1,
    ADD COLUMN settings_updated_at timestamptz NOT NULL DEFAULT now();

-- The VAT-return and DATEV facts of a tax code (fixtures/charts/README.md): the side of the
-- return, the UStVA Kennzahlen of its base, of the tax owed and of the input tax, and the
-- DATEV BU-Schlüssel. NULL where the code has none.
ALTER TABLE tax_codes
    ADD COLUMN vat_side text CHECK (vat_side IN ('sales', 'purchase')),
    ADD COLUMN base_kennzahl text CHECK (base_kennzahl ~ '^[0-9]{2}$'),
    ADD COLUMN tax_kennzahl text CHECK (tax_kennzahl ~ '^[0-9]{2}$'),
    ADD COLUMN input_tax_kennzahl text CHECK (input_tax_kennzahl ~ '^[0-9]{2}$'),
    ADD COLUMN datev_bu_key text CHECK (datev_bu_key ~ '^[0-9]{1,4}$');

-- DATEV computes the tax of an automatic account (AM) itself; the export books such an
-- account gross and without a BU-Schlüssel.
ALTER TABLE accounts
    ADD COLUMN datev_automatic boolean NOT NULL DEFAULT false;

-- Existing tenants: the facts of the seeded codes and accounts, as in fixtures/charts
-- (crates/store/tests/chart_facts.rs checks that these lists equal the fixtures).
UPDATE tax_codes t
   SET vat_side = f.vat_side, base_kennzahl = f.base_kz, tax_kennzahl = f.tax_kz,
       input_tax_kennzahl = f.input_kz, datev_bu_key = f.bu
  FROM (VALUES
        ('USt19', 'sales', '81', NULL, NULL, '3'),
        ('USt7', 'sales', '86', NULL, NULL, '2'),
        ('USt0', 'sales', NULL, NULL, NULL, NULL),
        ('VSt19', 'purchase', NULL, NULL, '66', '9'),
        ('VSt7', 'purchase', NULL, NULL, '66', '8'),
        ('RC19', 'purchase', '46', '47', '67', '94'),
        ('IGE19', 'purchase', '89', NULL, '61', '19'),
        ('IGL', 'sales', '41', NULL, NULL, NULL),
        ('EXP', 'sales', '43', NULL, NULL, NULL)
       ) AS f (code, vat_side, base_kz, tax_kz, input_kz, bu)
 WHERE t.code = f.code AND t.is_system;

-- RC19DE: the other cases of § 13b UStG (Kennzahlen 84/85), beside RC19 (46/47). Existing
-- tenants get it on the accounts of their RC19 as the chart seeds it.
INSERT INTO tax_codes (tenant_id, code, label, description, rate, vat_account, self_assess_account,
                       is_system, vat_side, base_kennzahl, tax_kennzahl, input_tax_kennzahl, datev_bu_key)
SELECT tn.id, 'RC19DE',
       'Steuerschuldnerschaft des Leistungsempfängers § 13b Abs. 2 UStG 19 %',
       'Andere Leistungen nach § 13b UStG als sonstige Leistungen aus dem übrigen Gemeinschaftsgebiet (z. B. Bauleistungen, Lieferungen im Inland durch im Ausland ansässige Unternehmer): der Leistungsempfänger schuldet die Umsatzsteuer und zieht sie zugleich als Vorsteuer ab.',
       19, a.vat, a.own, true, 'purchase', '84', '85', '67', '46'
  FROM tenants tn
  JOIN (VALUES ('skr03', '1577', '1787'), ('skr04', '1407', '3837')) AS a (chart, vat, own)
    ON a.chart = tn.chart
 WHERE EXISTS (SELECT 1 FROM accounts x WHERE x.tenant_id = tn.id AND x.number = a.vat)
   AND EXISTS (SELECT 1 FROM accounts x WHERE x.tenant_id = tn.id AND x.number = a.own)
ON CONFLICT (tenant_id, code) DO NOTHING;

UPDATE accounts ac
   SET datev_automatic = true
  FROM tenants tn
 WHERE ac.tenant_id = tn.id AND ac.is_system
   AND ((tn.chart = 'skr03' AND ac.number IN ('2406', '3120', '3123', '3125', '3300', '3400', '3425',
                                              '3736', '8120', '8125', '8300', '8400', '8710', '8720',
                                              '8731', '8736', '8921'))
     OR (tn.chart = 'skr04' AND ac.number IN ('6936', '5920', '5923', '5925', '5300', '5400', '5425',
                                              '5736', '4120', '4125', '4300', '4400', '4710', '4720',
                                              '4731', '4736', '4645')));
