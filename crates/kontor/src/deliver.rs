//! `kontor inbox deliver`: one RFC 822 message on stdin, as an MTA pipes it (Postfix `pipe`,
//! Exim `pipe` transport, a `.forward`/aliases `|command`). Each attachment becomes an inbox
//! item of the tenant the message is addressed to. Exit codes from sysexits.h, which MTAs
//! understand: 0 delivered, 65 (EX_DATAERR) not a message, 67 (EX_NOUSER) unknown recipient
//! (the MTA bounces), 75 (EX_TEMPFAIL) try again later (database unreachable, any failure of
//! kontor's own: the MTA keeps the message queued).

use crate::config::Config;
use app::inbox::Intake;
use app::AppError;
use journal::Actor;
use serde_json::json;
use std::io::Read;

pub const DELIVERED: i32 = 0;
pub const NOT_A_MESSAGE: i32 = 65;
pub const UNKNOWN_RECIPIENT: i32 = 67;
pub const TRY_AGAIN: i32 = 75;

/// The largest message taken (a mail server's own limit is usually lower).
const MAX_MESSAGE_BYTES: u64 = 64 * 1024 * 1024;

fn fail(code: i32, message: impl std::fmt::Display) -> i32 {
    eprintln!("kontor inbox deliver: {message}");
    code
}

pub async fn deliver(recipient: Option<&str>, tenant_slug: Option<&str>) -> i32 {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_MESSAGE_BYTES + 1)
        .read_to_end(&mut raw)
    {
        return fail(TRY_AGAIN, format!("reading the message: {e}"));
    }
    if raw.len() as u64 > MAX_MESSAGE_BYTES {
        return fail(
            NOT_A_MESSAGE,
            format!("the message is larger than {MAX_MESSAGE_BYTES} bytes"),
        );
    }
    let Some(mail) = inbox::mail::parse_mail(&raw) else {
        return fail(NOT_A_MESSAGE, "stdin holds no RFC 822 message");
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(TRY_AGAIN, format!("configuration: {e:#}")),
    };
    let app = match crate::open_app(&config).await {
        Ok(app) => app.with_inbox(config.inbox.clone()),
        Err(e) => return fail(TRY_AGAIN, format!("{e:#}")),
    };
    // The tenant: --tenant, else the envelope recipient, else the headers.
    let tenant_id = match tenant_slug {
        Some(slug) => match app.tenant_by_slug(slug).await {
            Ok(t) => t.id,
            Err(AppError::NotFound { .. }) => {
                return fail(UNKNOWN_RECIPIENT, format!("no tenant {slug:?}"))
            }
            Err(e) => return fail(TRY_AGAIN, format!("{e}")),
        },
        None => {
            let candidates: Vec<String> = match recipient {
                Some(r) => vec![r.to_string()],
                None => mail.recipients.clone(),
            };
            let mut found = None;
            for address in &candidates {
                match app.tenant_of_inbox_address(address).await {
                    Ok(Some(id)) => {
                        found = Some(id);
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => return fail(TRY_AGAIN, format!("{e}")),
                }
            }
            match found {
                Some(id) => id,
                None => {
                    return fail(
                        UNKNOWN_RECIPIENT,
                        format!(
                            "no inbox for {}",
                            if candidates.is_empty() {
                                "a message without recipients".to_string()
                            } else {
                                candidates.join(", ")
                            }
                        ),
                    )
                }
            }
        }
    };
    let actor = Actor {
        kind: "inbox".into(),
        id: mail.from.clone().unwrap_or_else(|| "mail".into()),
    };
    let mut items = Vec::new();
    for a in &mail.attachments {
        let intake = Intake {
            content: a.content.clone(),
            original_name: a.name.chars().take(255).collect(),
            channel: "email",
            source_email: mail.from.clone(),
            source_subject: mail.subject.clone(),
        };
        match app.ingest(tenant_id, intake, &actor).await {
            Ok(done) => items.push(json!({
                "id": done.item.id,
                "document_id": done.item.document_id,
                "status": done.item.status,
                "duplicate": done.duplicate,
                "original_name": done.item.original_name,
            })),
            Err(e) => return fail(TRY_AGAIN, format!("{}: {e}", a.name)),
        }
    }
    if items.is_empty() {
        if let Err(e) = app
            .log_mail_without_attachments(tenant_id, mail.from.clone(), mail.subject.clone())
            .await
        {
            return fail(TRY_AGAIN, format!("{e}"));
        }
    }
    println!(
        "{}",
        json!({"delivered": true, "tenant_id": tenant_id, "items": items})
    );
    DELIVERED
}
