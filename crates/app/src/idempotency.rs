//! `Idempotency-Key` look-ups and answers stored on their own. Answers of requests that create
//! something are stored by their use case, in its transaction (see `store::idempotency`).

use crate::{App, AppResult};
use store::idempotency::{IdempotencyKey, Lookup, StoredResponse};

impl App {
    pub async fn idempotency_lookup(&self, key: &IdempotencyKey) -> AppResult<Lookup> {
        Ok(self.store().idempotency_lookup(key).await?)
    }

    /// Stores the answer of a request that committed nothing of its own with it (a refusal,
    /// or an endpoint outside the transactional use cases).
    pub async fn idempotency_store(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> AppResult<bool> {
        Ok(self.store().idempotency_store(key, response).await?)
    }
}
