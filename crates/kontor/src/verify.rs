//! `kontor verify`: recompute every event hash and every closing hash, from the database or
//! from an NDJSON export of `GET /v1/audit/events` (plus, optionally, `GET /v1/periods`).

use anyhow::Context;
use app::App;
use journal::chain::{closing_hash, from_hex, to_hex, ChainVerifier, Hash32, ZERO_HASH};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use uuid::Uuid;

mod stream;

fn hash32(bytes: &[u8]) -> Hash32 {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(bytes);
    }
    h
}

/// One tenant's verification: the chain, and the event hashes grouped by the period their
/// (hashed) payload names.
struct TenantCheck {
    chain: ChainVerifier,
    by_period: HashMap<String, Vec<Hash32>>,
    failure: Option<String>,
}

impl TenantCheck {
    fn new() -> TenantCheck {
        TenantCheck {
            chain: ChainVerifier::default(),
            by_period: HashMap::new(),
            failure: None,
        }
    }

    fn event(&mut self, seq: i64, prev: &Hash32, hash: &Hash32, payload: &Value) {
        if self.failure.is_some() {
            return;
        }
        match self.chain.check(seq, prev, hash, payload) {
            Ok(()) => {
                let period = payload["period"].as_str().unwrap_or("").to_string();
                self.by_period.entry(period).or_default().push(*hash);
            }
            Err(b) => self.failure = Some(b.to_string()),
        }
    }

    /// Closings in lock order: (period, stored previous closing hash if known, stored closing hash).
    fn closings(&mut self, closings: &[(String, Option<Hash32>, Hash32)]) -> usize {
        self.closings_shown(closings, &[])
    }

    /// Like `closings`, and also compares what the API shows for each period (`shown`, in the
    /// same order; may be shorter) with the recorded closing.
    fn closings_shown(
        &mut self,
        closings: &[(String, Option<Hash32>, Hash32)],
        shown: &[Option<Hash32>],
    ) -> usize {
        if self.failure.is_some() {
            return 0;
        }
        let mut previous = ZERO_HASH;
        for (n, (period, stored_prev, stored)) in closings.iter().enumerate() {
            if let Some(p) = stored_prev {
                if *p != previous {
                    self.failure = Some(format!(
                        "period {period}: stored previous closing hash {} but the previous closing is {}",
                        to_hex(p),
                        to_hex(&previous)
                    ));
                    return n;
                }
            }
            let hashes = self.by_period.get(period).map(Vec::as_slice).unwrap_or(&[]);
            let computed = closing_hash(&previous, period, hashes);
            if &computed != stored {
                self.failure = Some(format!(
                    "period {period}: stored closing hash {} but its {} events give {}",
                    to_hex(stored),
                    hashes.len(),
                    to_hex(&computed)
                ));
                return n;
            }
            if let Some(Some(api)) = shown.get(n) {
                if api != stored {
                    self.failure = Some(format!(
                        "period {period}: the closing hash shown by the API {} differs from the recorded {}",
                        to_hex(api),
                        to_hex(stored)
                    ));
                    return n;
                }
            }
            previous = computed;
        }
        closings.len()
    }

    fn report(&self, tenant: &str, closings: usize) -> bool {
        match &self.failure {
            None => {
                println!(
                    "tenant {tenant}: OK — {} events, chain intact; {closings} closing hashes match",
                    self.chain.verified()
                );
                true
            }
            Some(f) => {
                println!("tenant {tenant}: MISMATCH at {f}");
                false
            }
        }
    }
}

/// Verifies every tenant (or one). Returns false if any event or closing does not match.
pub async fn verify_database(app: &App, only: Option<&str>) -> anyhow::Result<bool> {
    let tenants: Vec<(Uuid, String)> = app.tenant_slugs(only).await?;
    if let Some(slug) = only {
        if tenants.is_empty() {
            anyhow::bail!("no tenant with slug {slug:?}");
        }
    }
    let mut all_ok = true;
    for (id, slug) in tenants {
        let mut check = tokio::task::block_in_place(|| stream::chain_of(id))?;
        let records = app.closings(id).await?;
        let shown: Vec<Option<Hash32>> = records
            .iter()
            .map(|c| {
                Some(
                    c.shown_closing_hash
                        .as_deref()
                        .map(hash32)
                        .unwrap_or(ZERO_HASH),
                )
            })
            .collect();
        let closings: Vec<(String, Option<Hash32>, Hash32)> = records
            .into_iter()
            .map(|c| {
                (
                    c.period,
                    Some(hash32(&c.previous_closing_hash)),
                    hash32(&c.closing_hash),
                )
            })
            .collect();
        let n = check.closings_shown(&closings, &shown);
        all_ok &= check.report(&slug, n);
    }
    Ok(all_ok)
}

/// Verifies an NDJSON export: one object per line with seq, prev_hash, hash (hex) and payload.
/// With `periods` (the JSON array of `GET /v1/periods`), the closing hashes of its locked periods
/// are recomputed too, in the order they were locked.
pub fn verify_file(
    path: &std::path::Path,
    periods: Option<&std::path::Path>,
) -> anyhow::Result<bool> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut tenants: BTreeMap<String, TenantCheck> = BTreeMap::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(&line).with_context(|| format!("line {}: not JSON", n + 1))?;
        let seq = v["seq"]
            .as_i64()
            .with_context(|| format!("line {}: no seq", n + 1))?;
        let prev = v["prev_hash"]
            .as_str()
            .and_then(from_hex)
            .with_context(|| format!("line {}: bad prev_hash", n + 1))?;
        let hash = v["hash"]
            .as_str()
            .and_then(from_hex)
            .with_context(|| format!("line {}: bad hash", n + 1))?;
        let payload = &v["payload"];
        let tenant = payload["tenant_id"]
            .as_str()
            .unwrap_or("(unknown)")
            .to_string();
        tenants
            .entry(tenant)
            .or_insert_with(TenantCheck::new)
            .event(seq, &prev, &hash, payload);
    }
    let mut closings: Vec<(String, Option<Hash32>, Hash32)> = Vec::new();
    if let Some(p) = periods {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("opening {}", p.display()))?;
        let list: Vec<Value> =
            serde_json::from_str(&text).context("the periods file is not a JSON array")?;
        let mut locked: Vec<(chrono::DateTime<chrono::FixedOffset>, String, Hash32)> = Vec::new();
        for v in list.iter().filter(|v| v["status"] == "locked") {
            let period = v["period"].as_str().unwrap_or("(no period)");
            let at = v["locked_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .with_context(|| {
                    format!("{}: period {period} has no readable locked_at", p.display())
                })?;
            let hash = v["closing_hash"]
                .as_str()
                .and_then(from_hex)
                .with_context(|| {
                    format!(
                        "{}: period {period} has no readable closing_hash",
                        p.display()
                    )
                })?;
            locked.push((at, period.to_string(), hash));
        }
        locked.sort();
        closings = locked
            .into_iter()
            .map(|(_, period, h)| (period, None, h))
            .collect();
    }
    if tenants.len() > 1 && !closings.is_empty() {
        anyhow::bail!("--periods needs an export of a single tenant");
    }
    if tenants.is_empty() {
        println!("{}: no events to verify", path.display());
        if !closings.is_empty() {
            println!(
                "MISMATCH: the periods file names locked periods but the export has no events"
            );
            return Ok(false);
        }
    }
    let mut all_ok = true;
    for (tenant, mut check) in tenants {
        let n = check.closings(&closings);
        all_ok &= check.report(&tenant, n);
    }
    Ok(all_ok)
}
