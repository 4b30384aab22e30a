//! One RFC 822 message as the MTA pipes it: its recipients, subject, sender and attachments.

use mail_parser::{MessageParser, MimeHeaders};

#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Delivered-To, then To and Cc addresses, lower case.
    pub recipients: Vec<String>,
    pub attachments: Vec<Attachment>,
}

/// Parses a message; None when it is not one at all.
pub fn parse_mail(raw: &[u8]) -> Option<Mail> {
    let msg = MessageParser::default().parse(raw)?;
    let mut recipients = Vec::new();
    if let Some(d) = msg.header_raw("Delivered-To") {
        recipients.push(d.trim().trim_matches(['<', '>']).to_ascii_lowercase());
    }
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        for a in list.iter() {
            if let Some(addr) = a.address() {
                recipients.push(addr.to_ascii_lowercase());
            }
        }
    }
    let from = msg
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .map(str::to_string);
    let attachments = msg
        .attachments()
        .filter(|p| !p.contents().is_empty())
        .enumerate()
        .map(|(i, p)| Attachment {
            name: p
                .attachment_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("attachment-{}", i + 1)),
            content: p.contents().to_vec(),
        })
        .collect();
    Some(Mail {
        from,
        subject: msg.subject().map(str::to_string),
        recipients,
        attachments,
    })
}
