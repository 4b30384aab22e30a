//! API keys: `kt_` + 48 hex characters. Only the first 12 hex characters (the lookup prefix) and
//! a blake3 keyed hash of the whole key under the installation secret are stored.

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use uuid::Uuid;

pub const KEY_PREFIX: &str = "kt_";
const RANDOM_HEX: usize = 48;
const LOOKUP_HEX: usize = 12;

#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub tier: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An authenticated API key.
#[derive(Debug, Clone)]
pub struct KeyPrincipal {
    pub key_id: Uuid,
    pub tenant_id: Uuid,
    pub scopes: Vec<String>,
    pub tier: String,
}

/// The secret that keys the API-key hashes. With `KONTOR_SECRET` set, it is derived from that;
/// otherwise a random secret is created in the database on first start and kept there.
pub async fn installation_secret(
    client: &tokio_postgres::Client,
    configured: Option<&str>,
) -> Result<[u8; 32], StoreError> {
    if let Some(s) = configured.filter(|s| !s.is_empty()) {
        if s.len() < 32 {
            return Err(StoreError::Config(
                "KONTOR_SECRET must be at least 32 characters".into(),
            ));
        }
        return Ok(blake3::derive_key(
            "kontor 2026-11 api key hashing",
            s.as_bytes(),
        ));
    }
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    client
        .execute(
            "INSERT INTO instance_secrets (name, secret) VALUES ('api_key_hash', $1) ON CONFLICT (name) DO NOTHING",
            &[&fresh.as_slice()],
        )
        .await?;
    let row = client
        .query_one(
            "SELECT secret FROM instance_secrets WHERE name = 'api_key_hash'",
            &[],
        )
        .await?;
    let secret: Vec<u8> = row.get(0);
    secret
        .try_into()
        .map_err(|_| StoreError::Internal("instance secret has the wrong length".into()))
}

pub(crate) fn key_hash(secret: &[u8; 32], key: &str) -> [u8; 32] {
    *blake3::keyed_hash(secret, key.as_bytes()).as_bytes()
}

/// The lookup prefix of a well-formed key, or None.
fn lookup_prefix(key: &str) -> Option<&str> {
    let random = key.strip_prefix(KEY_PREFIX)?;
    if random.len() != RANDOM_HEX
        || !random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Some(&random[..LOOKUP_HEX])
}

fn key_from_row(row: &tokio_postgres::Row) -> ApiKey {
    ApiKey {
        id: row.get("id"),
        tenant_id: row.get("tenant_id"),
        name: row.get("name"),
        prefix: row.get("prefix"),
        scopes: row.get("scopes"),
        tier: row.get("tier"),
        created_at: row.get("created_at"),
        last_used_at: row.get("last_used_at"),
        revoked_at: row.get("revoked_at"),
        expires_at: row.get("expires_at"),
    }
}

const KEY_COLUMNS: &str =
    "id, tenant_id, name, prefix, scopes, tier, created_at, last_used_at, revoked_at, expires_at";

impl Store {
    /// Creates a key and returns it with its plaintext, which is not stored anywhere.
    pub async fn create_api_key(
        &self,
        tenant_id: Uuid,
        name: &str,
        scopes: &[String],
        tier: &str,
        created_by: Option<&str>,
    ) -> Result<(ApiKey, String), StoreError> {
        self.create_api_key_expiring(tenant_id, name, scopes, tier, created_by, None)
            .await
    }

    /// Like `create_api_key`, for a key that stops working at `expires_at`.
    pub async fn create_api_key_expiring(
        &self,
        tenant_id: Uuid,
        name: &str,
        scopes: &[String],
        tier: &str,
        created_by: Option<&str>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(ApiKey, String), StoreError> {
        let mut random = [0u8; RANDOM_HEX / 2];
        rand::thread_rng().fill_bytes(&mut random);
        let plaintext = format!("{KEY_PREFIX}{}", hex::encode(random));
        let prefix = lookup_prefix(&plaintext)
            .expect("generated keys are well-formed")
            .to_string();
        let hash = key_hash(&self.secret, &plaintext);
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, tier, created_by, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {KEY_COLUMNS}"
                ),
                &[&Uuid::now_v7(), &tenant_id, &name, &prefix, &hash.as_slice(), &scopes, &tier, &created_by, &expires_at],
            )
            .await?;
        Ok((key_from_row(&row), plaintext))
    }

    /// Looks a presented key up by its prefix and compares the keyed hash in constant time.
    pub async fn authenticate_api_key(
        &self,
        presented: &str,
    ) -> Result<Option<KeyPrincipal>, StoreError> {
        let Some(prefix) = lookup_prefix(presented) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, tenant_id, key_hash, scopes, tier FROM api_keys
                  WHERE prefix = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
            )
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&prefix]).await? else {
            return Ok(None);
        };
        let stored: Vec<u8> = row.get("key_hash");
        let Ok(stored) = <[u8; 32]>::try_from(stored.as_slice()) else {
            return Ok(None);
        };
        // blake3::Hash compares in constant time.
        if blake3::Hash::from(stored) != blake3::keyed_hash(&self.secret, presented.as_bytes()) {
            return Ok(None);
        }
        Ok(Some(KeyPrincipal {
            key_id: row.get("id"),
            tenant_id: row.get("tenant_id"),
            scopes: row.get("scopes"),
            tier: row.get("tier"),
        }))
    }

    pub async fn list_api_keys(&self, tenant_id: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at"
                ),
                &[&tenant_id],
            )
            .await?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    /// Revokes a key of the tenant (404 for another tenant's key); a revoked key stays revoked
    /// as it was.
    pub async fn revoke_api_key(
        &self,
        tenant_id: Uuid,
        key_id: Uuid,
        by: &str,
    ) -> Result<ApiKey, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $3)
                      WHERE tenant_id = $1 AND id = $2 RETURNING {KEY_COLUMNS}"
                ),
                &[&tenant_id, &key_id, &by],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("API key {key_id}")))?;
        Ok(key_from_row(&row))
    }

    /// Records that a key was used. Called at most about once a minute per key.
    pub async fn touch_api_key(&self, key_id: Uuid) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE api_keys SET last_used_at = now() WHERE id = $1",
                &[&key_id],
            )
            .await?;
        Ok(())
    }
}
