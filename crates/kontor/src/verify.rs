//! `kontor verify`: recompute the hash chain from the database or an NDJSON export.

use anyhow::Context;
use journal::chain::{from_hex, ChainBreak, ChainVerifier, Hash32};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;
use store::Store;
use uuid::Uuid;

const PAGE: i64 = 5_000;

fn hash32(bytes: &[u8]) -> Hash32 {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(bytes);
    }
    h
}

fn report(tenant: &str, result: Result<i64, ChainBreak>) -> bool {
    match result {
        Ok(n) => {
            println!("tenant {tenant}: {n} events verified, chain intact");
            true
        }
        Err(b) => {
            println!("tenant {tenant}: MISMATCH at event seq {}: {b}", b.seq());
            false
        }
    }
}

/// Verifies every tenant's chain (or one tenant's). Returns false on the first break per tenant.
pub async fn verify_database(store: &Store, only: Option<&str>) -> anyhow::Result<bool> {
    let client = store.client().await?;
    let tenants: Vec<(Uuid, String)> = client
        .query("SELECT id, slug FROM tenants WHERE $1::text IS NULL OR slug = $1 ORDER BY slug", &[&only])
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    drop(client);
    if let Some(slug) = only {
        if tenants.is_empty() {
            anyhow::bail!("no tenant with slug {slug:?}");
        }
    }
    let mut all_ok = true;
    for (id, slug) in tenants {
        let mut verifier = ChainVerifier::default();
        let mut outcome = Ok(0);
        let mut from = 1;
        'pages: loop {
            let events = store.events(id, from, PAGE).await?;
            if events.is_empty() {
                break;
            }
            for e in &events {
                if let Err(b) = verifier.check(e.seq, &hash32(&e.prev_hash), &hash32(&e.hash), &e.payload) {
                    outcome = Err(b);
                    break 'pages;
                }
            }
            from = events.last().map(|e| e.seq + 1).unwrap_or(from);
        }
        let outcome = outcome.map(|_: i64| verifier.verified());
        all_ok &= report(&slug, outcome);
    }
    Ok(all_ok)
}

/// Verifies an NDJSON export: one object per line with seq, prev_hash, hash (hex) and payload.
/// Lines of several tenants may be mixed; each tenant's chain is checked on its own.
pub fn verify_file(path: &std::path::Path) -> anyhow::Result<bool> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut chains: BTreeMap<String, (ChainVerifier, Option<ChainBreak>)> = BTreeMap::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).with_context(|| format!("line {}: not JSON", n + 1))?;
        let seq = v["seq"].as_i64().with_context(|| format!("line {}: no seq", n + 1))?;
        let prev = v["prev_hash"].as_str().and_then(from_hex).with_context(|| format!("line {}: bad prev_hash", n + 1))?;
        let hash = v["hash"].as_str().and_then(from_hex).with_context(|| format!("line {}: bad hash", n + 1))?;
        let payload = &v["payload"];
        let tenant = payload["tenant_id"].as_str().unwrap_or("(unknown)").to_string();
        let (verifier, broken) = chains.entry(tenant).or_insert_with(|| (ChainVerifier::default(), None));
        if broken.is_none() {
            if let Err(b) = verifier.check(seq, &prev, &hash, payload) {
                *broken = Some(b);
            }
        }
    }
    let mut all_ok = true;
    for (tenant, (verifier, broken)) in chains {
        all_ok &= report(&tenant, match broken {
            None => Ok(verifier.verified()),
            Some(b) => Err(b),
        });
    }
    Ok(all_ok)
}
