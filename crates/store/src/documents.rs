//! Documents (receipts, invoices, e-invoices): stored in PostgreSQL, once per tenant and content,
//! addressed by their blake3 hash. A document is evidence and is never changed or removed.

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use journal::Actor;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub id: Uuid,
    pub mime_type: String,
    pub original_name: String,
    pub size: i64,
    pub sha: String,
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &tokio_postgres::Row) -> Document {
    Document {
        id: row.get("id"),
        mime_type: row.get("mime_type"),
        original_name: row.get("original_name"),
        size: row.get("size"),
        sha: hex::encode(row.get::<_, Vec<u8>>("hash")),
        created_at: row.get("created_at"),
    }
}

impl Store {
    pub async fn store_document(
        &self,
        tenant_id: Uuid,
        content: &[u8],
        mime_type: &str,
        original_name: &str,
        actor: &Actor,
    ) -> Result<Document, StoreError> {
        let hash = blake3::hash(content);
        let size = content.len() as i64;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO document_blobs (tenant_id, hash, size, content) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, hash) DO NOTHING",
            &[&tenant_id, &hash.as_bytes().as_slice(), &size, &content],
        )
        .await?;
        let row = tx
            .query_one(
                "INSERT INTO documents (tenant_id, id, hash, mime_type, original_name, size, uploaded_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING id, mime_type, original_name, size, hash, created_at",
                &[
                    &tenant_id,
                    &Uuid::now_v7(),
                    &hash.as_bytes().as_slice(),
                    &mime_type,
                    &original_name,
                    &size,
                    &actor.to_json(),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(from_row(&row))
    }

    pub async fn get_document(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<(Document, Vec<u8>), StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT d.id, d.mime_type, d.original_name, d.size, d.hash, d.created_at, b.content
                   FROM documents d JOIN document_blobs b ON b.tenant_id = d.tenant_id AND b.hash = d.hash
                  WHERE d.tenant_id = $1 AND d.id = $2",
                &[&tenant_id, &id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("document {id}")))?;
        Ok((from_row(&row), row.get("content")))
    }
}
