//! The blake3 hash chain over the journal and the closing hash of a locked period.
//! The byte layout is written down in `docs/audit.md`.

use crate::canonical::canonical_bytes;
use serde_json::Value;

pub type Hash32 = [u8; 32];

/// `prev_hash` of the first event of a tenant, and the "previous closing hash" of the first
/// period that is locked.
pub const ZERO_HASH: Hash32 = [0u8; 32];

/// `hash = blake3(prev_hash || canonical_bytes(payload))`.
pub fn event_hash(prev_hash: &Hash32, payload: &Value) -> Hash32 {
    event_hash_of_canonical(prev_hash, &canonical_bytes(payload))
}

/// `hash = blake3(prev_hash || canonical)`, for a payload already in its canonical bytes (the
/// appender encodes each payload once: these bytes are hashed and stored as the `jsonb`).
pub fn event_hash_of_canonical(prev_hash: &Hash32, canonical: &[u8]) -> Hash32 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(prev_hash);
    hasher.update(canonical);
    *hasher.finalize().as_bytes()
}

/// `closing_hash(P) = blake3(previous closing hash || P's id as UTF-8 || hash_1 || … || hash_n)`
/// with the hashes of P's events as 32 raw bytes each, in `seq` order.
pub fn closing_hash<'a>(
    previous_closing_hash: &Hash32,
    period_id: &str,
    event_hashes: impl IntoIterator<Item = &'a Hash32>,
) -> Hash32 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(previous_closing_hash);
    hasher.update(period_id.as_bytes());
    for h in event_hashes {
        hasher.update(h);
    }
    *hasher.finalize().as_bytes()
}

pub fn to_hex(hash: &Hash32) -> String {
    hex::encode(hash)
}

pub fn from_hex(text: &str) -> Option<Hash32> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

/// Where a stored event disagrees with the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event seq {seq}: expected seq {expected} (gap or reordering)")]
    SeqGap { seq: i64, expected: i64 },
    #[error(
        "event seq {seq}: prev_hash {found} does not match the previous event's hash {expected}"
    )]
    PrevHashMismatch {
        seq: i64,
        expected: String,
        found: String,
    },
    #[error("event seq {seq}: stored hash {stored} but the payload hashes to {computed}")]
    HashMismatch {
        seq: i64,
        stored: String,
        computed: String,
    },
}

impl ChainBreak {
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::SeqGap { seq, .. }
            | ChainBreak::PrevHashMismatch { seq, .. }
            | ChainBreak::HashMismatch { seq, .. } => *seq,
        }
    }
}

/// Checks events one by one, in `seq` order, starting at seq 1.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    last_hash: Hash32,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            next_seq: 1,
            last_hash: ZERO_HASH,
        }
    }
}

impl ChainVerifier {
    /// Continues a chain from a known event (for paged verification).
    pub fn resume(last_seq: i64, last_hash: Hash32) -> Self {
        ChainVerifier {
            next_seq: last_seq + 1,
            last_hash,
        }
    }

    pub fn verified(&self) -> i64 {
        self.next_seq - 1
    }

    pub fn check(
        &mut self,
        seq: i64,
        prev_hash: &Hash32,
        hash: &Hash32,
        payload: &Value,
    ) -> Result<(), ChainBreak> {
        self.link(seq, prev_hash)?;
        self.accept(seq, hash, &event_hash(prev_hash, payload))
    }

    /// Like `check`, with the hash of the payload computed by the caller (`kontor verify`
    /// re-encodes the stored text without a `Value`, on several threads).
    pub fn check_hashed(
        &mut self,
        seq: i64,
        prev_hash: &Hash32,
        hash: &Hash32,
        computed: &Hash32,
    ) -> Result<(), ChainBreak> {
        self.link(seq, prev_hash)?;
        self.accept(seq, hash, computed)
    }

    /// Whether an event with `seq` and `prev_hash` is the next one of this chain.
    pub fn link(&self, seq: i64, prev_hash: &Hash32) -> Result<(), ChainBreak> {
        if seq != self.next_seq {
            return Err(ChainBreak::SeqGap {
                seq,
                expected: self.next_seq,
            });
        }
        if prev_hash != &self.last_hash {
            return Err(ChainBreak::PrevHashMismatch {
                seq,
                expected: to_hex(&self.last_hash),
                found: to_hex(prev_hash),
            });
        }
        Ok(())
    }

    fn accept(&mut self, seq: i64, hash: &Hash32, computed: &Hash32) -> Result<(), ChainBreak> {
        if computed != hash {
            return Err(ChainBreak::HashMismatch {
                seq,
                stored: to_hex(hash),
                computed: to_hex(computed),
            });
        }
        self.next_seq += 1;
        self.last_hash = *hash;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chain_detects_a_changed_payload() {
        let p1 = json!({"seq": 1, "amount": "10.00"});
        let h1 = event_hash(&ZERO_HASH, &p1);
        let p2 = json!({"seq": 2, "amount": "20.00"});
        let h2 = event_hash(&h1, &p2);
        let mut v = ChainVerifier::default();
        v.check(1, &ZERO_HASH, &h1, &p1).unwrap();
        v.check(2, &h1, &h2, &p2).unwrap();

        let mut v = ChainVerifier::default();
        v.check(1, &ZERO_HASH, &h1, &p1).unwrap();
        let tampered = json!({"seq": 2, "amount": "21.00"});
        assert_eq!(v.check(2, &h1, &h2, &tampered).unwrap_err().seq(), 2);
    }

    #[test]
    fn closing_hash_is_the_documented_concatenation() {
        let h = [7u8; 32];
        let mut manual = Vec::new();
        manual.extend_from_slice(&ZERO_HASH);
        manual.extend_from_slice(b"2026-03");
        manual.extend_from_slice(&h);
        assert_eq!(
            closing_hash(&ZERO_HASH, "2026-03", [&h]),
            *blake3::hash(&manual).as_bytes()
        );
    }
}
