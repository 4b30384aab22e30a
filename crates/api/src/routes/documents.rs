use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::routes::ErrorBody;
use crate::AppState;
use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use app::ledger::Document;
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The document types kontor keeps: what receipts and (e-)invoices come as.
const ALLOWED: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "application/xml",
];

/// Detects the type from the content itself; the client's claim is only checked against it.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    let trimmed = {
        let mut c = content;
        if c.starts_with(&[0xEF, 0xBB, 0xBF]) {
            c = &c[3..];
        }
        let start = c
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(c.len());
        &c[start..]
    };
    if content.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if content.starts_with(b"II*\0") || content.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else if trimmed.starts_with(b"<") && is_xml_document(trimmed) {
        Some("application/xml")
    } else {
        None
    }
}

/// Well-formed XML (an e-invoice) whose root is not an (X)HTML page: a page kept as a
/// "document" would be a script served from this origin.
fn is_xml_document(content: &[u8]) -> bool {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(content);
    let mut buf = Vec::new();
    let mut root_seen = false;
    loop {
        match reader.read_event_into(&mut buf) {
            Err(_) => return false,
            Ok(Event::Eof) => return root_seen,
            Ok(Event::DocType(d)) => {
                if String::from_utf8_lossy(&d)
                    .to_ascii_lowercase()
                    .contains("html")
                {
                    return false;
                }
            }
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if !root_seen => {
                let name = e.local_name();
                if name.as_ref().eq_ignore_ascii_case(b"html") {
                    return false;
                }
                let xhtml = e
                    .attributes()
                    .flatten()
                    .any(|a| a.value.as_ref() == b"http://www.w3.org/1999/xhtml");
                if xhtml {
                    return false;
                }
                root_seen = true;
            }
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                // An XHTML island anywhere (a <script> in the XHTML namespace) is refused too.
                if e.attributes()
                    .flatten()
                    .any(|a| a.value.as_ref() == b"http://www.w3.org/1999/xhtml")
                {
                    return false;
                }
            }
            Ok(_) => {}
        }
        buf.clear();
    }
}

fn claimed_matches(claimed: &str, sniffed: &str) -> bool {
    let claimed = claimed
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    claimed.is_empty()
        || claimed == "application/octet-stream"
        || claimed == sniffed
        || (sniffed == "application/xml" && claimed == "text/xml")
        || (sniffed == "image/jpeg" && claimed == "image/jpg")
}

/// Keeps the last path component, drops control characters, at most 255 characters.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "document".to_string()
    } else {
        cleaned
    }
}

#[derive(Serialize, ToSchema)]
pub struct DocumentDto {
    pub id: Uuid,
    #[schema(example = "application/pdf")]
    pub mime_type: String,
    #[schema(example = "rechnung-2026-0042.pdf")]
    pub original_name: String,
    pub size: i64,
    /// blake3 of the content, lowercase hex: the address the content is stored under.
    pub blake3: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Document> for DocumentDto {
    fn from(d: Document) -> Self {
        DocumentDto {
            id: d.id,
            mime_type: d.mime_type,
            original_name: d.original_name,
            size: d.size,
            blake3: d.sha,
            created_at: d.created_at,
        }
    }
}

#[utoipa::path(post, path = "/v1/documents", tag = "Journal",
    request_body(content_type = "multipart/form-data", description = "one part named `file`: PDF, PNG, JPEG, TIFF or XML (e-invoice)"),
    responses((status = 201, body = DocumentDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody, description = "not multipart, or a file type kontor does not keep")),
    security(("bearer" = ["documents:write"])))]
pub async fn upload(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    p.require("documents:write")?;
    let (content, original_name, claimed) = read_file_part(&state, &req, payload).await?;
    let mime = sniff(&content)
        .filter(|m| ALLOWED.contains(m))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "kontor keeps PDF, PNG, JPEG, TIFF and XML documents; this file is none of them",
            )
        })?;
    if !claimed_matches(&claimed, mime) {
        return Err(ApiError::bad_request(
            "content_type_mismatch",
            format!("the file is {mime} but was sent as {claimed}"),
        )
        .with_field("file", "content does not match its Content-Type"));
    }
    let doc = state
        .app
        .store_document(p.tenant_id, &content, mime, &original_name, &p.actor)
        .await?;
    Ok(HttpResponse::Created().json(DocumentDto::from(doc)))
}

#[utoipa::path(get, path = "/v1/documents/{id}", tag = "Journal", params(("id" = Uuid, Path)),
    responses((status = 200, body = DocumentDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["documents:read"])))]
pub async fn metadata(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("documents:read")?;
    let (doc, _) = state
        .app
        .get_document(p.tenant_id, crate::routes::path_id("document", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(DocumentDto::from(doc)))
}

/// `attachment` or `inline` with the original name, ASCII fallback plus RFC 5987 UTF-8 form.
fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn send(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    kind: &str,
) -> ApiResult<HttpResponse> {
    p.require("documents:read")?;
    let (doc, content) = state
        .app
        .get_document(p.tenant_id, crate::routes::path_id("document", id)?)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, doc.mime_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition(kind, &doc.original_name),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Whatever a file holds, a browser runs nothing of it on this origin.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        ))
        .insert_header((header::ETAG, format!("\"{}\"", doc.sha)))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(content))
}

#[utoipa::path(get, path = "/v1/documents/{id}/file", tag = "Journal", params(("id" = Uuid, Path)),
    responses((status = 200, description = "the file, Content-Disposition: attachment"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["documents:read"])))]
pub async fn file(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    send(state, p, &id, "attachment").await
}

#[utoipa::path(get, path = "/v1/documents/{id}/preview", tag = "Journal", params(("id" = Uuid, Path)),
    responses((status = 200, description = "the file, Content-Disposition: inline"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["documents:read"])))]
pub async fn preview(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    send(state, p, &id, "inline").await
}

/// Reads a multipart upload of exactly one part named `file` (at most
/// `KONTOR_MAX_DOCUMENT_BYTES`, within the request timeout): its bytes, its cleaned file name
/// and the Content-Type the client claimed. Used by POST /v1/documents, /v1/inbox and
/// /v1/ocr/extract.
pub(crate) async fn read_file_part(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Vec<u8>, String, String), ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be multipart/form-data with a part named file",
        ));
    }
    let limit = state.config.max_document_bytes;
    let mut multipart = Multipart::new(req.headers(), payload);
    // The whole upload within KONTOR_REQUEST_TIMEOUT_SECS: a stalled client holds nothing for long.
    let read = async {
        let mut file: Option<(Vec<u8>, String, String)> = None;
        while let Some(field) = multipart.next().await {
            let mut field =
                field.map_err(|e| ApiError::bad_request("malformed_multipart", e.to_string()))?;
            let name = field.name().unwrap_or("").to_string();
            if name != "file" {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!("unexpected form field {name:?}; send one part named file"),
                )
                .with_field(name, "unknown field"));
            }
            if file.is_some() {
                return Err(ApiError::bad_request(
                    "too_many_files",
                    "send exactly one part named file",
                ));
            }
            let original = clean_name(
                field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or(""),
            );
            let claimed = field
                .content_type()
                .map(|m| m.essence_str().to_string())
                .unwrap_or_default();
            let mut content = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::bad_request("malformed_multipart", e.to_string()))?;
                if content.len() + chunk.len() > limit {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("documents may be at most {limit} bytes"),
                    ));
                }
                content.extend_from_slice(&chunk);
            }
            file = Some((content, original, claimed));
        }
        Ok::<_, ApiError>(file)
    };
    let file = tokio::time::timeout(crate::extract::body_timeout(req), read)
        .await
        .map_err(|_| crate::extract::request_timeout())??;
    let (content, original_name, claimed) = file.ok_or_else(|| {
        ApiError::bad_request("file_required", "send one part named file")
            .with_field("file", "required")
    })?;
    if content.is_empty() {
        return Err(
            ApiError::bad_request("empty_file", "the file is empty").with_field("file", "empty")
        );
    }
    Ok((content, original_name, claimed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_document_types() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?><Invoice/>"),
            Some("application/xml")
        );
        assert_eq!(sniff(b"MZ\x90\0"), None);
        // XML only when it is well-formed and not a web page.
        assert_eq!(
            sniff(b"<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:x\"><a>1</a></rsm:CrossIndustryInvoice>"),
            Some("application/xml")
        );
        assert_eq!(sniff(b"<Invoice><unclosed></Invoice>"), None);
        assert_eq!(sniff(b"<not xml at all"), None);
        assert_eq!(
            sniff(b"<html><body><script>alert(1)</script></body></html>"),
            None
        );
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><!DOCTYPE html><x/>"), None);
        assert_eq!(
            sniff(b"<page xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></page>"),
            None
        );
        assert_eq!(
            sniff(b"<Invoice><x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script></Invoice>"),
            None
        );
        assert!(claimed_matches("text/xml", "application/xml"));
        assert!(!claimed_matches("image/png", "application/pdf"));
    }

    #[test]
    fn cleans_names_and_encodes_dispositions() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\Rechnung.pdf"), "Rechnung.pdf");
        assert_eq!(clean_name(""), "document");
        assert_eq!(
            disposition("inline", "Müller \"A\".pdf"),
            "inline; filename=\"M_ller _A_.pdf\"; filename*=UTF-8''M%C3%BCller%20%22A%22.pdf"
        );
    }
}
