//! `Idempotency-Key` records: the response a request was answered with.
//!
//! A record is written in the same transaction as what the request created (a booking, an
//! invoice, a reversal), so after any crash a retry either finds the record and replays it, or
//! finds nothing because nothing was created. There are no "pending" records: concurrent
//! duplicates wait on the key in the process (see `api::guard`), and across replicas the
//! primary key makes the second transaction wait for the first and then fail with
//! `StoreError::IdempotencyTaken`, upon which the stored response is replayed.

use crate::{Store, StoreError};
use uuid::Uuid;

/// One key of one tenant, and a fingerprint of the request that used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub tenant_id: Uuid,
    pub key: String,
    /// blake3 of method, URI and body: the same key with another request is refused.
    pub request_hash: [u8; 32],
}

/// An answer as it went to the client, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl StoredResponse {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: &impl serde::Serialize) -> StoredResponse {
        StoredResponse {
            status,
            content_type: Some("application/json".into()),
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }
}

/// How to answer a request once its use case has decided, for storing with the key in the
/// use case's own transaction.
pub struct Idempotent<T: ?Sized> {
    pub key: IdempotencyKey,
    pub render: Box<dyn Fn(&T) -> StoredResponse + Send + Sync>,
}

impl<T: ?Sized> std::fmt::Debug for Idempotent<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotent")
            .field("key", &self.key)
            .finish()
    }
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not used yet (or its request created nothing and stored nothing).
    Absent,
    /// Used with the same request: replay this.
    Replay(StoredResponse),
    /// Used with a different request.
    Conflict,
}

const INSERT: &str = "INSERT INTO idempotency_keys (tenant_id, key, request_hash, response_status, response_type, response_body)
     VALUES ($1, $2, $3, $4, $5, $6)";

impl Store {
    pub async fn idempotency_lookup(&self, key: &IdempotencyKey) -> Result<Lookup, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT request_hash, response_status, response_type, response_body FROM idempotency_keys
                  WHERE tenant_id = $1 AND key = $2",
            )
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&key.tenant_id, &key.key]).await? else {
            return Ok(Lookup::Absent);
        };
        if row.get::<_, &[u8]>(0) != key.request_hash.as_slice() {
            return Ok(Lookup::Conflict);
        }
        Ok(Lookup::Replay(StoredResponse {
            status: u16::try_from(row.get::<_, i32>(1)).unwrap_or(500),
            content_type: row.get(2),
            body: row.get(3),
        }))
    }

    /// Stores an answer on its own, for requests that created nothing in a transaction of
    /// their own (a refused request, an endpoint outside the write path). Returns false when
    /// the key was stored already.
    pub async fn idempotency_store(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                &format!("{INSERT} ON CONFLICT (tenant_id, key) DO NOTHING"),
                &[
                    &key.tenant_id,
                    &key.key,
                    &key.request_hash.as_slice(),
                    &i32::from(response.status),
                    &response.content_type,
                    &response.body,
                ],
            )
            .await?;
        Ok(n == 1)
    }
}

/// Stores an answer inside the transaction that created what it answers. A key that another
/// transaction stored first gives `StoreError::IdempotencyTaken` (the caller rolls back and
/// replays the stored answer).
pub async fn store_in_tx(
    tx: &crate::Transaction<'_>,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    let stmt = tx.prepare_cached(INSERT).await?;
    tx.execute(
        &stmt,
        &[
            &key.tenant_id,
            &key.key,
            &key.request_hash.as_slice(),
            &i32::from(response.status),
            &response.content_type,
            &response.body,
        ],
    )
    .await
    .map_err(taken)?;
    Ok(())
}

/// Turns the primary-key violation of `idempotency_keys` into `IdempotencyTaken`.
pub fn taken(e: tokio_postgres::Error) -> StoreError {
    let is_key = e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
        && e.as_db_error()
            .and_then(|d| d.constraint())
            .is_some_and(|c| c == "idempotency_keys_pkey");
    if is_key {
        StoreError::IdempotencyTaken
    } else {
        StoreError::Db(e)
    }
}
