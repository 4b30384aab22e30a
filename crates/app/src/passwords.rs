//! Password hashing with argon2id (PHC strings), off the async worker threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// A password policy failure, or None when the password is acceptable.
pub fn weakness(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Some(format!(
            "password must have at least {MIN_LENGTH} characters"
        ))
    } else if n > MAX_LENGTH {
        Some(format!(
            "password must have at most {MAX_LENGTH} characters"
        ))
    } else if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        Some("password must not repeat a single character".into())
    } else {
        None
    }
}

pub fn hash_blocking(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Verifies a password against a PHC string. With no stored hash it still does the work of one
/// verification, so that unknown accounts answer as slowly as known ones.
pub fn verify_blocking(password: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jc8jmq3yv8Pq2GJ0rQ8qGq0XzL2tqJkq8r5mFv8pE0A";
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (DUMMY, false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// `hash_blocking` on the blocking thread pool.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// `verify_blocking` on the blocking thread pool.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_blocking(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_salted_and_a_malformed_one_never_verifies() {
        let a = hash_blocking("correct horse battery staple").unwrap();
        let b = hash_blocking("correct horse battery staple").unwrap();
        assert_ne!(a, b);
        assert!(!verify_blocking(
            "correct horse battery staple",
            Some("not a phc string")
        ));
    }

    #[test]
    fn the_policy_counts_characters_not_bytes() {
        assert!(weakness(&"ä".repeat(11)).is_some());
        assert!(weakness("äöüäöüäöüäöü").is_none());
        assert!(weakness(&"ab".repeat(128)).is_none());
        assert!(weakness(&"ab".repeat(129)).is_some());
    }

    #[tokio::test]
    async fn the_async_forms_agree_with_the_blocking_ones() {
        let h = hash("a long enough passphrase".into()).await.unwrap();
        assert!(verify("a long enough passphrase".into(), Some(h.clone())).await);
        assert!(!verify("another long passphrase".into(), Some(h)).await);
    }

    #[test]
    fn hashes_and_verifies() {
        let h = hash_blocking("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_blocking("correct horse battery staple", Some(&h)));
        assert!(!verify_blocking("wrong horse battery staple", Some(&h)));
        assert!(!verify_blocking("anything at all here", None));
        assert!(weakness("short").is_some());
        assert!(weakness("aaaaaaaaaaaaaaaa").is_some());
        assert!(weakness("a long enough passphrase").is_none());
    }
}
