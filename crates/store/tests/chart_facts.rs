//! The facts migrations 0012 and 0017 give existing tenants are the chart fixtures' facts.

use std::collections::BTreeMap;

const MIGRATION: &str = include_str!("../../../schema/0012_reports_settings.sql");
const VST0: &str = include_str!("../../../schema/0017_vst0.sql");

fn quoted(s: &str) -> Vec<String> {
    s.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_migration_seeds_the_facts_of_the_fixtures() {
    for name in ["skr03", "skr04"] {
        let chart = store::tenants::chart(name).unwrap();
        // Tax codes: the VALUES rows of the UPDATE, and RC19DE's INSERT.
        let mut from_sql: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        for line in MIGRATION.lines() {
            let t = line.trim();
            if t.starts_with("('") && (t.contains("'sales'") || t.contains("'purchase'")) {
                let fields: Vec<Option<String>> = t
                    .trim_start_matches('(')
                    .trim_end_matches([',', ')'])
                    .split(", ")
                    .map(|f| (f != "NULL").then(|| f.trim_matches('\'').to_string()))
                    .collect();
                from_sql.insert(fields[0].clone().unwrap(), fields[1..].to_vec());
            }
        }
        from_sql.insert(
            "RC19DE".into(),
            ["purchase", "84", "85", "67", "46"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
        );
        assert!(MIGRATION.contains("19, a.vat, a.own, true, 'purchase', '84', '85', '67', '46'"));
        // VSt0 for existing tenants: migration 0017, without facts.
        from_sql.insert(
            "VSt0".into(),
            vec![Some("purchase".to_string()), None, None, None, None],
        );
        assert!(VST0.contains("0, NULL, NULL, true, 'purchase', NULL, NULL, NULL, NULL"));
        for tc in &chart.tax_codes {
            let want = vec![
                tc.vat_side.clone(),
                tc.base_kennzahl.clone(),
                tc.tax_kennzahl.clone(),
                tc.input_tax_kennzahl.clone(),
                tc.datev_bu_key.clone(),
            ];
            assert_eq!(from_sql.get(&tc.code), Some(&want), "{name} {}", tc.code);
        }
        assert_eq!(from_sql.len(), chart.tax_codes.len());
        // Automatic accounts: the list of the chart in the UPDATE of accounts.
        let marker = format!("tn.chart = '{name}' AND ac.number IN (");
        let at = MIGRATION.find(&marker).unwrap() + marker.len();
        let list = &MIGRATION[at..at + MIGRATION[at..].find(')').unwrap()];
        let mut in_sql = quoted(list);
        in_sql.sort();
        let mut in_chart: Vec<String> = chart
            .accounts
            .iter()
            .filter(|a| a.datev_automatic)
            .map(|a| a.number.clone())
            .collect();
        in_chart.sort();
        assert_eq!(in_sql, in_chart, "{name}");
        // RC19DE for existing tenants sits on the accounts of the fixture.
        let rc = chart.tax_codes.iter().find(|t| t.code == "RC19DE").unwrap();
        let pair = format!(
            "('{name}', '{}', '{}')",
            rc.vat_account.as_deref().unwrap(),
            rc.self_assess_account.as_deref().unwrap()
        );
        assert!(MIGRATION.contains(&pair), "{pair}");
    }
}
