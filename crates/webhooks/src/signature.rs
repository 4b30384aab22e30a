//! `X-Kontor-Signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA256, keyed with the secret string's
//! UTF-8 bytes (the whole `whsec_…` string), over `"<t>.<raw body>"`. The timestamp is signed
//! with the body, so a captured request cannot be replayed later than the replay window.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a receiver should accept `t` from its own clock, in seconds (documented).
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The hex HMAC-SHA256 of `"<t>.<body>"` keyed with `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The value of `X-Kontor-Signature`.
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, body))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the header is not t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("the timestamp is outside the replay window")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// What a receiver does: parse the header, check `t` against `now` within `window` seconds,
/// and compare the signature in constant time. Several `v1=` entries are allowed (a receiver
/// may see them while a secret is rotated); one must match.
pub fn verify(
    header: &str,
    secret: &str,
    body: &[u8],
    now: i64,
    window: i64,
) -> Result<(), SignatureError> {
    let mut t: Option<i64> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", v)) => {
                signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?)
            }
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > window {
        return Err(SignatureError::Stale);
    }
    for sig in signatures {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_test', b'1700000000.{\"a\":1}', hashlib.sha256).hexdigest())"
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn table() {
        let body = br#"{"id":"x"}"#;
        let h = signature_header("whsec_s", 1000, body);
        for (header, secret, body, now, want) in [
            (h.clone(), "whsec_s", &body[..], 1000, Ok(())),
            (h.clone(), "whsec_s", &body[..], 1300, Ok(())),
            (
                h.clone(),
                "whsec_s",
                &body[..],
                1301,
                Err(SignatureError::Stale),
            ),
            (
                h.clone(),
                "whsec_s",
                &body[..],
                699,
                Err(SignatureError::Stale),
            ),
            (
                h.clone(),
                "whsec_other",
                &body[..],
                1000,
                Err(SignatureError::Mismatch),
            ),
            (
                h.clone(),
                "whsec_s",
                &br#"{"id":"y"}"#[..],
                1000,
                Err(SignatureError::Mismatch),
            ),
            (
                "v1=00".to_string(),
                "whsec_s",
                &body[..],
                1000,
                Err(SignatureError::Malformed),
            ),
            (
                "t=1000".to_string(),
                "whsec_s",
                &body[..],
                1000,
                Err(SignatureError::Malformed),
            ),
            (
                "garbage".to_string(),
                "whsec_s",
                &body[..],
                1000,
                Err(SignatureError::Malformed),
            ),
            (
                format!(
                    "t=1000,v1={},v1={}",
                    "00".repeat(32),
                    sign("whsec_s", 1000, body)
                ),
                "whsec_s",
                &body[..],
                1000,
                Ok(()),
            ),
        ] {
            assert_eq!(
                verify(&header, secret, body, now, REPLAY_WINDOW_SECS),
                want,
                "{header}"
            );
        }
    }

    proptest! {
        #[test]
        fn signed_verifies_and_tampered_does_not(
            secret in "whsec_[a-zA-Z0-9]{1,40}",
            body in proptest::collection::vec(any::<u8>(), 0..200),
            t in 0i64..4_000_000_000,
            flip in any::<usize>(),
        ) {
            let header = signature_header(&secret, t, &body);
            prop_assert_eq!(verify(&header, &secret, &body, t, REPLAY_WINDOW_SECS), Ok(()));
            if !body.is_empty() {
                let mut tampered = body.clone();
                let i = flip % tampered.len();
                tampered[i] ^= 1;
                prop_assert_eq!(
                    verify(&header, &secret, &tampered, t, REPLAY_WINDOW_SECS),
                    Err(SignatureError::Mismatch)
                );
            }
        }
    }
}
