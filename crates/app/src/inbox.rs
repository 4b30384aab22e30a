//! The inbox (issue 14): intake by upload and mail, extraction (e-invoice XML, PDF text layer,
//! Tesseract OCR), inbox items, invoice review cases and the ingestion log.
//!
//! Reading a file is `inbox`'s (pure, on the blocking pool); Tesseract runs here as a child
//! process with a timeout. An intake extracts first and then writes the document, the item,
//! its review case and the log entry in one transaction. Approving a review case creates the
//! incoming invoice through `create_invoice_in_tx` — the same rules, booking and hashes as
//! POST /v1/invoices — in the approving transaction.

use crate::{App, AppError, AppResult};
use inbox::{Extraction, NormalizedInvoice, Read, VendorRef};
use journal::Actor;
use serde_json::{json, Value};
use std::time::Duration;
use store::inbox::{self as rows, NewItem, NewLog};
pub use store::inbox::{CaseRow, ItemRow, LogRow};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// The inbox's settings (`KONTOR_INBOX_DOMAIN`, `KONTOR_OCR_TIMEOUT_SECS`, `KONTOR_TESSERACT`).
#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// The domain of the tenants' inbox addresses.
    pub domain: String,
    /// How long one Tesseract run may take before it is killed.
    pub ocr_timeout: Duration,
    /// The Tesseract command.
    pub tesseract: String,
    /// Tesseract's languages (`-l`).
    pub ocr_languages: String,
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            domain: "inbox.localhost".into(),
            ocr_timeout: Duration::from_secs(60),
            tesseract: "tesseract".into(),
            ocr_languages: "deu+eng".into(),
        }
    }
}

/// An extraction and the raw text it was read from (`ocr_raw`: Tesseract's output or the text
/// layer; none for XML).
#[derive(Debug, Clone)]
pub struct Extracted {
    pub extraction: Extraction,
    pub ocr_raw: Option<String>,
}

/// A review case to write.
struct NewCase {
    id: Uuid,
    vendor_id: Option<Uuid>,
    normalized: Value,
    candidates: Value,
}

/// A file that arrives.
#[derive(Debug, Clone)]
pub struct Intake {
    pub content: Vec<u8>,
    pub original_name: String,
    /// `upload` or `email`.
    pub channel: &'static str,
    pub source_email: Option<String>,
    pub source_subject: Option<String>,
}

/// What an intake did: the item (new or the one that already held the same file).
#[derive(Debug, Clone)]
pub struct Ingested {
    pub item: ItemRow,
    pub duplicate: bool,
}

/// `{reviewCaseId, intentId, invoiceId}`.
#[derive(Debug, Clone)]
pub struct Approved {
    pub review_case_id: Uuid,
    pub intent_id: Uuid,
    pub invoice_id: Uuid,
    pub inbox_item_id: Uuid,
}

pub fn mime_of(content: &[u8]) -> &'static str {
    match inbox::sniff(content) {
        inbox::Kind::Xml => "application/xml",
        inbox::Kind::Pdf => "application/pdf",
        inbox::Kind::Image if content.starts_with(b"\x89PNG") => "image/png",
        inbox::Kind::Image if content.starts_with(&[0xFF, 0xD8]) => "image/jpeg",
        inbox::Kind::Image => "image/tiff",
        inbox::Kind::Unknown => "application/octet-stream",
    }
}

fn extract_error(e: inbox::ExtractError) -> AppError {
    AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
        field: Some("file".into()),
    }
}

/// A random token for an inbox address: 12 lower-case letters and digits.
fn random_token() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

impl App {
    pub fn with_inbox(mut self, config: InboxConfig) -> App {
        self.inbox = std::sync::Arc::new(config);
        self
    }

    pub fn inbox_config(&self) -> &InboxConfig {
        &self.inbox
    }

    /// Runs Tesseract on an image: the image on stdin, the text on stdout, killed after the
    /// timeout. A missing binary or a timeout is `Upstream` (`ocr_failed`).
    pub async fn run_ocr(&self, image: &[u8]) -> AppResult<String> {
        let cfg = self.inbox.clone();
        let fail = |m: String| AppError::Upstream {
            code: "ocr_failed",
            message: m,
        };
        let mut child = tokio::process::Command::new(&cfg.tesseract)
            .args(["stdin", "stdout", "-l", &cfg.ocr_languages, "--psm", "4"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("OCR is not available ({}: {e})", cfg.tesseract)))?;
        let mut stdin = child.stdin.take().expect("piped");
        let image = image.to_vec();
        let run = async move {
            // Written concurrently with the read: a large image must not dead-lock on the pipe.
            let writer = tokio::spawn(async move {
                let _ = stdin.write_all(&image).await;
                drop(stdin);
            });
            let out = child.wait_with_output().await;
            let _ = writer.await;
            out
        };
        let out = tokio::time::timeout(cfg.ocr_timeout, run)
            .await
            .map_err(|_| {
                fail(format!(
                    "OCR took longer than {} s and was stopped",
                    cfg.ocr_timeout.as_secs()
                ))
            })?
            .map_err(|e| fail(format!("OCR failed: {e}")))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(AppError::invalid(
                "ocr_unreadable",
                format!(
                    "the image could not be read: {}",
                    err.lines().last().unwrap_or("").trim()
                ),
                Some("file"),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `POST /v1/ocr/extract` and the intake pipeline: reads a file (on the blocking pool),
    /// with OCR for images.
    pub async fn extract_file(&self, content: Vec<u8>) -> AppResult<Extracted> {
        let image = content.clone();
        let read = tokio::task::spawn_blocking(move || inbox::read(&content))
            .await
            .map_err(|_| {
                AppError::invalid(
                    "invalid_document",
                    "the file could not be read",
                    Some("file"),
                )
            })?
            .map_err(extract_error)?;
        match read {
            Read::Done(x) => {
                let raw = match x.source {
                    inbox::Source::Xml => None,
                    _ => Some(x.raw_markdown.clone()),
                };
                Ok(Extracted {
                    extraction: *x,
                    ocr_raw: raw,
                })
            }
            Read::ScannedPdf { pages, note } => {
                let mut texts = Vec::with_capacity(pages.len());
                for page in &pages {
                    texts.push(self.run_ocr(page).await?);
                }
                let text = texts.join("\n\n");
                let t = text.clone();
                let mut x = tokio::task::spawn_blocking(move || inbox::from_ocr_text(&t))
                    .await
                    .map_err(|_| {
                        AppError::invalid(
                            "invalid_document",
                            "the OCR text could not be read",
                            Some("file"),
                        )
                    })?;
                x.warnings.push(format!(
                    "a scanned PDF without text layer: its {} page image(s) were read by OCR",
                    pages.len()
                ));
                x.warnings.extend(note);
                Ok(Extracted {
                    extraction: x,
                    ocr_raw: Some(text),
                })
            }
            Read::NeedsOcr => {
                let text = self.run_ocr(&image).await?;
                let t = text.clone();
                let x = tokio::task::spawn_blocking(move || inbox::from_ocr_text(&t))
                    .await
                    .map_err(|_| {
                        AppError::invalid(
                            "invalid_document",
                            "the OCR text could not be read",
                            Some("file"),
                        )
                    })?;
                Ok(Extracted {
                    extraction: x,
                    ocr_raw: Some(text),
                })
            }
        }
    }

    /// The tenant's inbox address, made the first time it is asked for.
    pub async fn inbox_address(&self, tenant_id: Uuid) -> AppResult<String> {
        let tenant = self.store().tenant_info(tenant_id).await?;
        let slug: String = tenant
            .tenant
            .slug
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect::<String>()
            .to_lowercase();
        let candidate = format!("{slug}.{}", random_token());
        let local = self
            .in_transaction(async |tx| Ok(rows::address(tx, tenant_id, &candidate).await?))
            .await?;
        Ok(format!("{local}@{}", self.inbox.domain))
    }

    /// The tenant an address belongs to (its local part, under the configured domain).
    pub async fn tenant_of_inbox_address(&self, address: &str) -> AppResult<Option<Uuid>> {
        let address = address.trim().trim_matches(['<', '>']).to_lowercase();
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Ok(None);
        };
        if !domain.eq_ignore_ascii_case(&self.inbox.domain) {
            return Ok(None);
        }
        let client = self.client().await?;
        Ok(rows::tenant_of_address(&client, local).await?)
    }

    async fn log_only(&self, tenant_id: Uuid, entry: NewLog) -> AppResult<()> {
        self.in_transaction(async |tx| Ok(rows::insert_log(tx, tenant_id, &entry).await?))
            .await
    }

    /// Takes in one file: a duplicate (same blake3) is recognised and logged; otherwise the
    /// file is read and then kept as a document with its item, its review case (when it holds
    /// an invoice) and the log entry, in one transaction. An upload that cannot be read is
    /// refused (nothing but the log entry is written). A mailed file is kept first (document
    /// and item `received`, one transaction), then read, and its reading written in a second;
    /// one that cannot be read stays as a failed item.
    pub async fn ingest(
        &self,
        tenant_id: Uuid,
        intake: Intake,
        actor: &Actor,
    ) -> AppResult<Ingested> {
        let hash = blake3::hash(&intake.content);
        let hash = hash.as_bytes().to_vec();
        let duplicate = |item_id: Uuid| NewLog {
            outcome: "duplicate",
            channel: intake.channel,
            inbox_item_id: Some(item_id),
            original_name: Some(intake.original_name.clone()),
            source_email: intake.source_email.clone(),
            reason: Some("the same file (blake3) is in the inbox already".into()),
            ..NewLog::default()
        };
        {
            let client = self.client().await?;
            if let Some(existing) = rows::item_by_hash(&client, tenant_id, &hash).await? {
                drop(client);
                self.log_only(tenant_id, duplicate(existing)).await?;
                let client = self.client().await?;
                let item = rows::get_item(&client, tenant_id, existing, false).await?;
                return Ok(Ingested {
                    item,
                    duplicate: true,
                });
            }
        }
        let mime = mime_of(&intake.content);
        let item_id = Uuid::now_v7();
        let base_item = |document_id: Uuid, status: &'static str| NewItem {
            id: item_id,
            document_id,
            document_hash: hash.clone(),
            status,
            channel: intake.channel,
            ocr_extraction: None,
            ocr_raw: None,
            vendor_match: None,
            compliance_check: None,
            failure: None,
            source_email: intake.source_email.clone(),
            source_subject: intake.source_subject.clone(),
            original_name: intake.original_name.clone(),
        };
        let written = if intake.channel == "email" {
            // A mailed file is kept first (status received), so that the original is there
            // whatever happens while it is read; then the reading is written to it.
            let kept = self
                .in_transaction(async |tx| {
                    let doc = rows::insert_document(
                        tx,
                        tenant_id,
                        &intake.content,
                        mime,
                        &intake.original_name,
                        actor,
                    )
                    .await?;
                    let item = base_item(doc.id, "received");
                    if !rows::insert_item(tx, tenant_id, &item, actor).await? {
                        // A concurrent intake of the same file won: roll this one back.
                        return Err(lost_race());
                    }
                    Ok(Some(doc.id))
                })
                .await
                .or_else(lost_race_is(None))?;
            match kept {
                None => false,
                Some(document_id) => {
                    let extracted = self.extract_for_intake(&intake).await?;
                    self.in_transaction(async |tx| {
                        let mut item = base_item(document_id, "failed");
                        let (case, log) = self
                            .outcome_in_tx(tx, tenant_id, &mut item, &extracted, &intake)
                            .await?;
                        // Rejected while it was read: the rejection stands.
                        if !rows::update_item_extraction(tx, tenant_id, &item).await? {
                            return Ok(true);
                        }
                        self.write_case_and_log(tx, tenant_id, item_id, case, &log)
                            .await?;
                        Ok(true)
                    })
                    .await?
                }
            }
        } else {
            let extracted = match self.extract_for_intake(&intake).await {
                Ok(x) => x,
                Err(e @ (AppError::Invalid { .. } | AppError::Upstream { .. })) => {
                    self.log_only(
                        tenant_id,
                        NewLog {
                            outcome: "failed",
                            channel: intake.channel,
                            original_name: Some(intake.original_name.clone()),
                            reason: Some(e.to_string()),
                            ..NewLog::default()
                        },
                    )
                    .await?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            self.in_transaction(async |tx| {
                let doc = rows::insert_document(
                    tx,
                    tenant_id,
                    &intake.content,
                    mime,
                    &intake.original_name,
                    actor,
                )
                .await?;
                let mut item = base_item(doc.id, "failed");
                let (case, log) = self
                    .outcome_in_tx(tx, tenant_id, &mut item, &extracted, &intake)
                    .await?;
                if !rows::insert_item(tx, tenant_id, &item, actor).await? {
                    // A concurrent intake of the same file won: nothing of this one is kept.
                    return Err(lost_race());
                }
                self.write_case_and_log(tx, tenant_id, item_id, case, &log)
                    .await?;
                Ok(true)
            })
            .await
            .or_else(lost_race_is(false))?
        };
        let client = self.client().await?;
        if !written {
            let existing = rows::item_by_hash(&client, tenant_id, &hash)
                .await?
                .ok_or_else(|| AppError::not_found("inbox item"))?;
            drop(client);
            self.log_only(tenant_id, duplicate(existing)).await?;
            let client = self.client().await?;
            let item = rows::get_item(&client, tenant_id, existing, false).await?;
            return Ok(Ingested {
                item,
                duplicate: true,
            });
        }
        let item = rows::get_item(&client, tenant_id, item_id, false).await?;
        Ok(Ingested {
            item,
            duplicate: false,
        })
    }

    /// Reads an intake's file. An upload that cannot be read is refused (only the log entry is
    /// written); for a mailed file the reason is returned, to be kept on its failed item.
    async fn extract_for_intake(&self, intake: &Intake) -> AppResult<Result<Extracted, String>> {
        match self.extract_file(intake.content.clone()).await {
            Ok(x) => Ok(Ok(x)),
            Err(e @ (AppError::Invalid { .. } | AppError::Upstream { .. })) => {
                if intake.channel == "upload" {
                    return Err(e);
                }
                Ok(Err(e.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    /// What a reading means for its item (filled into `item`), its review case and its log
    /// entry: the vendor candidates, the § 14 check, the normalized invoice.
    async fn outcome_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        item: &mut NewItem,
        extracted: &Result<Extracted, String>,
        intake: &Intake,
    ) -> AppResult<(Option<NewCase>, NewLog)> {
        let mut log = NewLog {
            outcome: "failed",
            channel: intake.channel,
            inbox_item_id: Some(item.id),
            document_id: Some(item.document_id),
            original_name: Some(intake.original_name.clone()),
            source_email: intake.source_email.clone(),
            ..NewLog::default()
        };
        let mut case = None;
        match extracted {
            Ok(x) => {
                let vendors: Vec<VendorRef> = rows::vendor_refs(tx, tenant_id)
                    .await?
                    .into_iter()
                    .map(|(id, name, vat_id, iban)| VendorRef {
                        id,
                        name,
                        vat_id,
                        iban,
                    })
                    .collect();
                let candidates = inbox::rank_vendors(&x.extraction, &vendors);
                let chosen = candidates
                    .first()
                    .filter(|c| c.score >= 0.9 && c.reasons.iter().any(|r| r != "name"))
                    .map(|c| c.vendor_id);
                let check = inbox::compliance_check(&x.extraction);
                item.status = "extracted";
                item.failure = None;
                item.ocr_extraction = Some(extraction_json(&x.extraction));
                item.ocr_raw = x.ocr_raw.clone();
                item.vendor_match = Some(json!({"vendor_id": chosen, "candidates": candidates}));
                item.compliance_check = Some(serde_json::to_value(&check).unwrap_or(Value::Null));
                log.outcome = "extracted";
                log.source = Some(x.extraction.source.as_str().into());
                if x.extraction.holds_invoice() {
                    let normalized =
                        NormalizedInvoice::from_extraction(&x.extraction, Some(item.document_id));
                    let case_id = Uuid::now_v7();
                    log.review_case_id = Some(case_id);
                    case = Some(NewCase {
                        id: case_id,
                        vendor_id: chosen,
                        normalized: serde_json::to_value(&normalized).unwrap_or(Value::Null),
                        candidates: serde_json::to_value(&candidates).unwrap_or(Value::Null),
                    });
                }
            }
            Err(reason) => {
                item.status = "failed";
                item.failure = Some(reason.clone());
                log.reason = Some(reason.clone());
            }
        }
        Ok((case, log))
    }

    async fn write_case_and_log(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        item_id: Uuid,
        case: Option<NewCase>,
        log: &NewLog,
    ) -> AppResult<()> {
        if let Some(c) = case {
            rows::insert_case(
                tx,
                tenant_id,
                c.id,
                item_id,
                c.vendor_id,
                &c.normalized,
                &c.candidates,
            )
            .await?;
        }
        rows::insert_log(tx, tenant_id, log).await?;
        Ok(())
    }

    /// A mailed message without attachments: nothing to read, logged as failed.
    pub async fn log_mail_without_attachments(
        &self,
        tenant_id: Uuid,
        from: Option<String>,
        subject: Option<String>,
    ) -> AppResult<()> {
        self.log_only(
            tenant_id,
            NewLog {
                outcome: "failed",
                channel: "email",
                source_email: from,
                original_name: subject,
                reason: Some("the message has no attachment".into()),
                ..NewLog::default()
            },
        )
        .await
    }

    /// Newest first; after `after` when given (then `offset` is ignored).
    pub async fn list_inbox(
        &self,
        tenant_id: Uuid,
        status: Option<&str>,
        limit: i64,
        offset: i64,
        after: Option<&crate::ListCursor>,
    ) -> AppResult<(
        Vec<ItemRow>,
        crate::ledger::Total,
        Option<crate::ListCursor>,
    )> {
        Ok(self
            .store()
            .list_inbox_items(tenant_id, status, limit, offset, after)
            .await?)
    }

    pub async fn get_inbox_item(&self, tenant_id: Uuid, id: Uuid) -> AppResult<ItemRow> {
        let client = self.client().await?;
        Ok(rows::get_item(&client, tenant_id, id, false).await?)
    }

    /// `POST /v1/inbox/{id}/confirm`: approves the item's review case with its current data.
    pub async fn confirm_inbox_item(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> AppResult<Approved> {
        let case_id = {
            let client = self.client().await?;
            let item = rows::get_item(&client, tenant_id, id, false).await?;
            if item.status != "extracted" {
                return Err(AppError::conflict(
                    "inbox_item_not_open",
                    format!(
                        "inbox item {id} is {}: only extracted items can be confirmed",
                        item.status
                    ),
                ));
            }
            item.review_case_id.ok_or_else(|| {
                AppError::conflict(
                    "no_invoice",
                    format!(
                        "inbox item {id} holds no invoice (no review case) and cannot be confirmed"
                    ),
                )
            })?
        };
        self.approve_review_case(tenant_id, case_id, actor).await
    }

    /// `POST /v1/inbox/{id}/reject`: rejects the item and its open review case.
    pub async fn reject_inbox_item(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        reason: Option<String>,
        actor: &Actor,
    ) -> AppResult<()> {
        self.in_transaction(async |tx| {
            let item = rows::get_item(tx, tenant_id, id, true).await?;
            if !matches!(item.status.as_str(), "received" | "extracted" | "failed") {
                return Err(AppError::conflict(
                    "inbox_item_not_open",
                    format!("inbox item {id} is {} already", item.status),
                ));
            }
            if let Some(case_id) = item.review_case_id {
                let case = rows::get_case(tx, tenant_id, case_id, true).await?;
                if is_open(&case.queue_state) {
                    rows::decide_case(
                        tx,
                        tenant_id,
                        case_id,
                        "rejected",
                        None,
                        None,
                        reason.as_deref(),
                        None,
                        actor,
                    )
                    .await?;
                }
            }
            rows::set_item_status(tx, tenant_id, id, "rejected", reason.as_deref()).await?;
            rows::insert_log(
                tx,
                tenant_id,
                &NewLog {
                    outcome: "rejected",
                    channel: "review",
                    inbox_item_id: Some(id),
                    review_case_id: item.review_case_id,
                    document_id: Some(item.document_id),
                    original_name: Some(item.original_name.clone()),
                    reason: reason.clone(),
                    ..NewLog::default()
                },
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Newest first; after `after` when given (then `offset` is ignored).
    pub async fn list_review_cases(
        &self,
        tenant_id: Uuid,
        queue_state: Option<&str>,
        limit: i64,
        offset: i64,
        after: Option<&crate::ListCursor>,
    ) -> AppResult<(
        Vec<CaseRow>,
        crate::ledger::Total,
        Option<crate::ListCursor>,
    )> {
        Ok(self
            .store()
            .list_review_cases(tenant_id, queue_state, limit, offset, after)
            .await?)
    }

    pub async fn get_review_case(&self, tenant_id: Uuid, id: Uuid) -> AppResult<CaseRow> {
        let client = self.client().await?;
        Ok(rows::get_case(&client, tenant_id, id, false).await?)
    }

    /// `PATCH`: the vendor and/or the normalized invoice of an open case.
    pub async fn update_review_case(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        vendor_id: Option<Option<Uuid>>,
        normalized: Option<NormalizedInvoice>,
    ) -> AppResult<CaseRow> {
        self.in_transaction(async |tx| {
            let case = rows::get_case(tx, tenant_id, id, true).await?;
            check_open(&case)?;
            let vendor = vendor_id.unwrap_or(case.vendor_id);
            if let Some(v) = vendor {
                let ok = rows::vendor_refs(tx, tenant_id)
                    .await?
                    .iter()
                    .any(|r| r.0 == v);
                if !ok {
                    return Err(AppError::invalid(
                        "unknown_vendor",
                        format!("vendor {v} is not an active vendor of this tenant"),
                        Some("vendor_id"),
                    ));
                }
            }
            let data = match normalized {
                Some(mut n) => {
                    // The case's document stays the received file.
                    n.document_id = Some(case.document_id);
                    serde_json::to_value(&n).unwrap_or(Value::Null)
                }
                None => case.normalized_invoice.clone(),
            };
            rows::update_case_data(tx, tenant_id, id, vendor, &data).await?;
            Ok(rows::get_case(tx, tenant_id, id, false).await?)
        })
        .await
    }

    /// `POST …/approve`: creates the incoming invoice and its booking (through
    /// `create_invoice_in_tx`) and closes the case, in one transaction. When the invoice's
    /// rules refuse it, nothing of it is written; the case becomes `posting_failed` with the
    /// error, and the error is returned.
    pub async fn approve_review_case(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> AppResult<Approved> {
        let mut posting_error: Option<Value> = None;
        let result = self
            .in_transaction(async |tx| {
                let case = rows::get_case(tx, tenant_id, id, true).await?;
                check_open(&case)?;
                let vendor_id = case.vendor_id.ok_or_else(|| {
                    AppError::invalid(
                        "vendor_required",
                        "choose the vendor first (PATCH vendor_id)",
                        Some("vendor_id"),
                    )
                })?;
                let normalized: NormalizedInvoice =
                    serde_json::from_value(case.normalized_invoice.clone()).map_err(|e| {
                        AppError::invalid(
                            "invalid_normalized_invoice",
                            e.to_string(),
                            Some("normalized_invoice"),
                        )
                    })?;
                let new = normalized
                    .to_new_invoice(vendor_id)
                    .map_err(|(field, message)| AppError::Invalid {
                        code: "invalid_normalized_invoice",
                        message: format!("{field}: {message}"),
                        field: Some(field),
                    })?;
                let invoice = match self.create_invoice_in_tx(tx, tenant_id, &new, actor).await {
                    Ok(i) => i,
                    Err(e) => {
                        if e.kind().is_some() {
                            posting_error = Some(json!([{
                                "code": e.rule().map(|r| r.code()).unwrap_or("invalid"),
                                "error": e.to_string(),
                                "field": e.rule().and_then(|r| r.field()),
                            }]));
                        }
                        return Err(e);
                    }
                };
                rows::decide_case(
                    tx,
                    tenant_id,
                    id,
                    "approved",
                    Some(invoice.id),
                    Some(invoice.intent_id),
                    None,
                    Some(&json!([])),
                    actor,
                )
                .await?;
                rows::set_item_status(tx, tenant_id, case.inbox_item_id, "confirmed", None).await?;
                rows::insert_log(
                    tx,
                    tenant_id,
                    &NewLog {
                        outcome: "approved",
                        channel: "review",
                        inbox_item_id: Some(case.inbox_item_id),
                        review_case_id: Some(id),
                        document_id: Some(case.document_id),
                        reason: Some(format!("incoming invoice {}", invoice.id)),
                        ..NewLog::default()
                    },
                )
                .await?;
                Ok(Approved {
                    review_case_id: id,
                    intent_id: invoice.intent_id,
                    invoice_id: invoice.id,
                    inbox_item_id: case.inbox_item_id,
                })
            })
            .await;
        if let (Err(_), Some(errors)) = (&result, posting_error) {
            self.in_transaction(async |tx| {
                let case = rows::get_case(tx, tenant_id, id, true).await?;
                if is_open(&case.queue_state) {
                    rows::decide_case(
                        tx,
                        tenant_id,
                        id,
                        "posting_failed",
                        None,
                        None,
                        None,
                        Some(&errors),
                        actor,
                    )
                    .await?;
                }
                Ok(())
            })
            .await?;
        }
        result
    }

    /// `POST …/reject`: closes an open case without an invoice; its item is rejected too.
    pub async fn reject_review_case(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        reason: Option<String>,
        actor: &Actor,
    ) -> AppResult<CaseRow> {
        self.in_transaction(async |tx| {
            let case = rows::get_case(tx, tenant_id, id, true).await?;
            check_open(&case)?;
            rows::decide_case(
                tx,
                tenant_id,
                id,
                "rejected",
                None,
                None,
                reason.as_deref(),
                None,
                actor,
            )
            .await?;
            rows::set_item_status(
                tx,
                tenant_id,
                case.inbox_item_id,
                "rejected",
                reason.as_deref(),
            )
            .await?;
            rows::insert_log(
                tx,
                tenant_id,
                &NewLog {
                    outcome: "rejected",
                    channel: "review",
                    inbox_item_id: Some(case.inbox_item_id),
                    review_case_id: Some(id),
                    document_id: Some(case.document_id),
                    reason: reason.clone(),
                    ..NewLog::default()
                },
            )
            .await?;
            Ok(rows::get_case(tx, tenant_id, id, false).await?)
        })
        .await
    }

    /// Newest first; after `after` when given (then `offset` is ignored).
    pub async fn ingestion_log(
        &self,
        tenant_id: Uuid,
        outcome: Option<&str>,
        limit: i64,
        offset: i64,
        after: Option<&crate::ListCursor>,
    ) -> AppResult<(Vec<LogRow>, crate::ledger::Total, Option<crate::ListCursor>)> {
        Ok(self
            .store()
            .list_ingestion_log(tenant_id, outcome, limit, offset, after)
            .await?)
    }
}

const LOST_RACE: &str = "inbox_duplicate_race";

/// Rolls back an intake whose file another intake stored at the same moment.
fn lost_race() -> AppError {
    AppError::conflict(LOST_RACE, "the same file arrived concurrently")
}

/// Maps the rollback of `lost_race` to `value` (the intake then answers as a duplicate).
fn lost_race_is<T: Clone>(value: T) -> impl FnOnce(AppError) -> AppResult<T> {
    move |e| match e {
        AppError::Conflict { code, .. } if code == LOST_RACE => Ok(value),
        e => Err(e),
    }
}

fn is_open(state: &str) -> bool {
    matches!(state, "needs_review" | "posting_failed")
}

fn check_open(case: &CaseRow) -> AppResult<()> {
    if is_open(&case.queue_state) {
        Ok(())
    } else {
        Err(AppError::conflict(
            "review_case_not_open",
            format!("review case {} is {} already", case.id, case.queue_state),
        ))
    }
}

/// The extraction as stored and answered: seed 003's fields flat, dates ISO, money strings
/// with the currency's minor units.
pub fn extraction_json(x: &Extraction) -> Value {
    let mut v = serde_json::to_value(x).unwrap_or(Value::Null);
    let currency = x.currency.clone().unwrap_or_else(|| "EUR".into());
    if let Some(obj) = v.as_object_mut() {
        for (key, amount) in [
            ("total_net", x.total_net),
            ("total_tax", x.total_tax),
            ("total_gross", x.total_gross),
        ] {
            obj.insert(
                key.into(),
                amount.map_or(Value::Null, |a| Value::String(money(a, &currency))),
            );
        }
    }
    v
}

fn money(a: rust_decimal::Decimal, currency: &str) -> String {
    match journal::Currency::from_code(currency) {
        Ok(c) => c.format(a),
        Err(_) => a.normalize().to_string(),
    }
}
