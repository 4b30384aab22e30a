//! EN 16931 VAT categories (UNTDID 5305) to the input-VAT tax codes of kontor's charts.

use rust_decimal::Decimal;

/// The tax code of an incoming invoice's line: S at 19 % → VSt19, S at 7 % → VSt7, AE → RC19
/// (§ 13b, reverse charge), K → IGE19 (intra-EU acquisition); E, Z, G, O → VSt0 (0 %, no input
/// VAT). Anything else (S at another rate, L, M) → None, and the caller warns.
pub fn tax_code(category: &str, rate: Option<Decimal>) -> Option<String> {
    let r = rate.map(|r| r.normalize());
    match category.trim().to_ascii_uppercase().as_str() {
        "S" if r == Some(Decimal::from(19)) => Some("VSt19".into()),
        "S" if r == Some(Decimal::from(7)) => Some("VSt7".into()),
        "AE" => Some("RC19".into()),
        "K" => Some("IGE19".into()),
        "E" | "Z" | "G" | "O" => Some("VSt0".into()),
        _ => None,
    }
}

/// True when the category books no VAT at all (E exempt, Z zero rated, G export, O outside).
pub fn is_zero_category(category: &str) -> bool {
    matches!(
        category.trim().to_ascii_uppercase().as_str(),
        "E" | "Z" | "G" | "O"
    )
}
