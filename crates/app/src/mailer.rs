//! Outgoing mail: SMTP when `KONTOR_SMTP_URL` is set, else `.eml` files in `KONTOR_MAIL_DIR`.

use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// e.g. `smtps://user:password@mail.example.com` or `smtp://localhost:25`.
    pub smtp_url: Option<String>,
    pub from: String,
    pub dir: PathBuf,
    /// Base URL for links in mails (password setup/reset).
    pub public_url: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "kontor <no-reply@kontor.invalid>".into(),
            dir: PathBuf::from("mail"),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    pub public_url: String,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("KONTOR_MAIL_FROM: {e}"))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("KONTOR_SMTP_URL: {e}"))?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.dir)
                    .map_err(|e| format!("KONTOR_MAIL_DIR {}: {e}", config.dir.display()))?;
                Transport::Files(AsyncFileTransport::new(&config.dir))
            }
        };
        Ok(Mailer {
            transport,
            from,
            public_url: config.public_url.trim_end_matches('/').to_string(),
        })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| e.to_string())?;
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Files(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    pub async fn send_invite(
        &self,
        to: &str,
        name: &str,
        tenant: &str,
        token: &str,
    ) -> Result<(), String> {
        let body = format!(
            "Hello {name},\n\nyou have been invited to the books of {tenant} in kontor.\n\
             Choose your password here (the link works once and for 7 days):\n\n  {url}/setup-password?token={token}\n\n\
             Or send POST /v1/auth/setup-password with {{\"token\": \"{token}\", \"password\": \"…\"}}.\n",
            url = self.public_url
        );
        self.send(to, "Your kontor invitation", body).await
    }

    pub async fn send_reset(&self, to: &str, name: &str, token: &str) -> Result<(), String> {
        let body = format!(
            "Hello {name},\n\nsomeone asked to reset your kontor password. If it was you, choose a new one here\n\
             (the link works once and for 1 hour):\n\n  {url}/setup-password?token={token}\n\n\
             Or send POST /v1/auth/setup-password with {{\"token\": \"{token}\", \"password\": \"…\"}}.\n\
             If it was not you, ignore this mail; your password stays as it is.\n",
            url = self.public_url
        );
        self.send(to, "Reset your kontor password", body).await
    }
}

/// The mailer of an `App`, made on first use: a command that sends no mail never touches the
/// mail configuration (the SMTP URL, the mail folder).
pub(crate) struct LazyMailer {
    config: MailConfig,
    mailer: std::sync::OnceLock<Mailer>,
}

impl LazyMailer {
    pub(crate) fn new(config: MailConfig) -> LazyMailer {
        LazyMailer {
            config,
            mailer: std::sync::OnceLock::new(),
        }
    }

    /// The mailer; fails when the mail configuration is unusable (bad sender, unwritable folder).
    pub(crate) fn get(&self) -> Result<&Mailer, String> {
        if let Some(m) = self.mailer.get() {
            return Ok(m);
        }
        let made = Mailer::new(&self.config)?;
        Ok(self.mailer.get_or_init(|| made))
    }
}
