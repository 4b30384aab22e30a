//! Vendor candidates for an extraction: by VAT id, IBAN and name, each with a score.

use crate::model::Extraction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A vendor as the scoring needs it.
#[derive(Debug, Clone)]
pub struct VendorRef {
    pub id: Uuid,
    pub name: String,
    pub vat_id: Option<String>,
    pub iban: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub vendor_id: Uuid,
    pub name: String,
    /// 0..1
    pub score: f64,
    /// `vat_id`, `iban`, `name`.
    pub reasons: Vec<String>,
}

const LEGAL_FORMS: &[&str] = &[
    "gmbh",
    "ag",
    "kg",
    "ohg",
    "ug",
    "co",
    "e.k.",
    "ek",
    "mbh",
    "haftungsbeschränkt",
    "se",
    "gbr",
    "ltd",
    "inc",
    "sarl",
    "bv",
    "&",
];

fn tokens(name: &str) -> Vec<String> {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '&' && c != '.')
        .map(|t| t.trim_matches('.').to_string())
        .filter(|t| !t.is_empty() && !LEGAL_FORMS.contains(&t.as_str()))
        .collect()
}

/// Jaccard similarity of the names' words, legal forms left out.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let ta = tokens(a);
    let tb = tokens(b);
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let common = ta.iter().filter(|t| tb.contains(t)).count() as f64;
    let union = (ta.len() + tb.len()) as f64 - common;
    common / union
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The vendors that may have sent the invoice, best first (at most 5, score ≥ 0.3).
pub fn rank_vendors(x: &Extraction, vendors: &[VendorRef]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = vendors
        .iter()
        .filter_map(|v| {
            let mut parts: Vec<f64> = Vec::new();
            let mut reasons = Vec::new();
            if let (Some(a), Some(b)) = (&x.vendor_vat_id, &v.vat_id) {
                if compact(a) == compact(b) {
                    parts.push(0.95);
                    reasons.push("vat_id".to_string());
                }
            }
            if let (Some(a), Some(b)) = (&x.vendor_iban, &v.iban) {
                if compact(a) == compact(b) {
                    parts.push(0.9);
                    reasons.push("iban".to_string());
                }
            }
            if let Some(n) = &x.vendor_name {
                let s = name_similarity(n, &v.name);
                if s >= 0.5 {
                    parts.push(0.8 * s);
                    reasons.push("name".to_string());
                }
            }
            if parts.is_empty() {
                return None;
            }
            let miss: f64 = parts.iter().map(|p| 1.0 - p).product();
            let score = ((1.0 - miss) * 1000.0).round() / 1000.0;
            (score >= 0.3).then(|| Candidate {
                vendor_id: v.id,
                name: v.name.clone(),
                score,
                reasons,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    out.truncate(5);
    out
}
