//! kontor: server and command line. `main` only wires; the work is in the crates below.

mod config;
mod deliver;
mod verify;

use anyhow::{bail, Context};
use app::identity::{NewMember, NewTenant};
use app::{App, AppError};
use clap::{Parser, Subcommand};
use config::Config;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "kontor",
    version,
    about = "Event-sourced double-entry ledger service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the HTTP API on KONTOR_BIND (default 127.0.0.1:8080).
    Serve,
    /// Apply the migrations in schema/ and exit.
    Migrate,
    /// Administration: tenants and API keys. Prints JSON on stdout.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Recompute every event hash and closing hash (from the database, or from an NDJSON export
    /// of GET /v1/audit/events) and exit 1 naming the first event or period that does not match.
    Verify {
        /// Verify only this tenant (slug); default: every tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Verify an NDJSON export file instead of the database.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// With --file: the JSON of GET /v1/periods, to recompute its closing hashes too.
        #[arg(long, requires = "file")]
        periods: Option<std::path::PathBuf>,
    },
    /// The inbox (issue 14): mail delivery from the MTA.
    Inbox {
        #[command(subcommand)]
        command: InboxCommand,
    },
}

#[derive(Subcommand)]
enum InboxCommand {
    /// Read one RFC 822 message on stdin (as an MTA pipes it) and put each attachment into
    /// the inbox of the tenant it is addressed to. Exit codes for the MTA: 0 delivered,
    /// 65 not a message, 67 unknown recipient, 75 try again later.
    Deliver {
        /// The envelope recipient, as the MTA passes it (Postfix: ${recipient}); default: the
        /// Delivered-To, To and Cc headers.
        #[arg(long)]
        recipient: Option<String>,
        /// Deliver to this tenant (slug) whatever the address says.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
#[allow(clippy::enum_variant_names)] // the CLI verbs are create-tenant, create-user, create-api-key
enum AdminCommand {
    /// Create a tenant with its chart of accounts and a full-scope owner key.
    CreateTenant {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "skr03", value_parser = ["skr03", "skr04"])]
        chart: String,
        #[arg(long, default_value_t = 1)]
        fiscal_year_start_month: u32,
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Add a user to a tenant; without --password an invite (setup-password mail) is sent.
    CreateUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "owner", value_parser = clap::builder::PossibleValuesParser::new(app::scopes::Role::ALL.map(app::scopes::Role::as_str)))]
        role: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password: Option<String>,
    },
    /// Create an API key for a tenant (tier unlimited).
    CreateApiKey {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Comma-separated, e.g. journal:read,journal:write. Default: *
        #[arg(long, default_value = "*", value_delimiter = ',')]
        scopes: Vec<String>,
    },
}

/// Log lines as JSON objects or as text (`KONTOR_LOG_FORMAT`, else JSON when stderr is not a
/// terminal); text gets ANSI colours only on a terminal.
fn log_json(format: Option<&str>, stderr_is_terminal: bool) -> bool {
    match format.map(str::trim) {
        Some(f) if f.eq_ignore_ascii_case("json") => true,
        Some(f) if f.eq_ignore_ascii_case("text") => false,
        _ => !stderr_is_terminal,
    }
}

fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_postgres=warn"));
    let terminal = std::io::stderr().is_terminal();
    let json = log_json(std::env::var("KONTOR_LOG_FORMAT").ok().as_deref(), terminal);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal && !json);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// Waits for SIGTERM or SIGINT (Ctrl-C) and names it.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

async fn open_app(config: &Config) -> anyhow::Result<App> {
    let (app, applied) = App::open(&app::startup::Database {
        url: config.database_url.clone(),
        pool_size: config.pool_size,
        secret: config.secret.clone(),
        statement_timeout: config.statement_timeout,
        replica: config.replica.clone(),
    })
    .await
    .context("opening the database")?;
    for m in applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(app)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = {
        use clap::{CommandFactory, FromArgMatches};
        let help = config::settings_help();
        let command = Cli::command().mut_subcommand("serve", |serve| serve.after_help(help));
        Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
    };
    if let Command::Verify {
        file: Some(path),
        periods,
        ..
    } = &cli.command
    {
        // An export is verified without any database.
        if !verify::verify_file(path, periods.as_deref())? {
            std::process::exit(1);
        }
        return Ok(());
    }
    if let Command::Inbox {
        command: InboxCommand::Deliver { recipient, tenant },
    } = &cli.command
    {
        // Every failure has an exit code the MTA understands (sysexits.h).
        let code = deliver::deliver(recipient.as_deref(), tenant.as_deref()).await;
        std::process::exit(code);
    }
    let config = Config::from_env()?;
    match cli.command {
        Command::Migrate => {
            open_app(&config).await?;
            println!("{}", json!({"migrated": true}));
        }
        Command::Inbox { .. } => unreachable!("handled above"),
        Command::Serve => {
            // The appenders run on this runtime, which outlives the HTTP workers' runtimes.
            let app = open_app(&config)
                .await?
                .with_appender_runtime(tokio::runtime::Handle::current())
                .with_webhooks(config.webhooks.clone())
                .with_inbox(config.inbox.clone());
            let listener = std::net::TcpListener::bind(&config.bind)
                .with_context(|| format!("binding {}", config.bind))?;
            tracing::info!(bind = %config.bind, workers = config.api.workers, "kontor listening");
            let state =
                api::AppState::new(app, config.api.clone()).map_err(|e| anyhow::anyhow!(e))?;
            if config.webhook_worker {
                // Webhook deliveries and invoice.overdue (issue 15); every replica may run it.
                tokio::spawn(state.app.clone().run_webhook_worker());
            }
            let housekeeping = state.app.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
                loop {
                    every.tick().await;
                    if let Err(e) = housekeeping.housekeeping().await {
                        tracing::warn!(error = ?e, "housekeeping failed");
                    }
                }
            });
            let shutdown_timeout = state.config.shutdown_timeout;
            let metrics = match &config.metrics_bind {
                Some(bind) => {
                    let listener = std::net::TcpListener::bind(bind)
                        .with_context(|| format!("binding {bind} (KONTOR_METRICS_BIND)"))?;
                    tracing::info!(bind = %bind, "metrics listening");
                    let server = api::serve_metrics(listener, state.app.clone())?;
                    let handle = server.handle();
                    tokio::spawn(server);
                    Some(handle)
                }
                None => None,
            };
            let server = api::serve(listener, state)?;
            let handle = server.handle();
            tokio::spawn(async move {
                let signal = shutdown_signal().await;
                tracing::info!(
                    signal,
                    timeout_secs = shutdown_timeout.as_secs(),
                    "shutting down: no new connections, finishing the requests in flight"
                );
                handle.stop(true).await;
                if let Some(metrics) = metrics {
                    metrics.stop(false).await;
                }
            });
            server.await?;
            tracing::info!("kontor stopped");
        }
        Command::Admin { command } => {
            let app = open_app(&config)
                .await?
                .with_identity(config.identity.clone());
            admin(&app, command).await?;
        }
        Command::Verify { tenant, .. } => {
            // Read-only: an auditor's database role needs no write access (no migration, no
            // installation secret; neither is involved in verification).
            let app =
                App::open_read_only(&config.database_url).context("connecting to the database")?;
            if !verify::verify_database(&app, tenant.as_deref()).await? {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// The `admin` commands: each is a use case of `app`, printed as one JSON line.
async fn admin(app: &App, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateTenant {
            slug,
            name,
            chart,
            fiscal_year_start_month,
            currency,
        } => {
            let tenant = app
                .create_tenant(NewTenant {
                    slug,
                    name,
                    chart,
                    fiscal_year_start_month,
                    currency,
                })
                .await?;
            let key = app
                .create_admin_api_key(tenant.id, "owner (admin CLI)", vec!["*".into()])
                .await?;
            println!("{}", json!({"tenant": tenant, "api_key": key.plaintext}));
        }
        AdminCommand::CreateUser {
            tenant,
            email,
            role,
            name,
            password,
        } => {
            let t = app.tenant_by_slug(&tenant).await?;
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let new = NewMember {
                email,
                name,
                role,
                password,
            };
            let member = match app.add_member(t.id, new).await {
                Ok(m) => m,
                Err(AppError::Invalid {
                    code: "weak_password",
                    message,
                    ..
                }) => bail!("--password: {message}"),
                Err(e @ AppError::Upstream { .. }) => {
                    bail!("sending the invite failed, the user was not added: {e}")
                }
                Err(e) => return Err(e.into()),
            };
            println!("{}", json!({"user": member}));
        }
        AdminCommand::CreateApiKey {
            tenant,
            name,
            scopes,
        } => {
            let t = app.tenant_by_slug(&tenant).await?;
            let created = app.create_admin_api_key(t.id, &name, scopes).await?;
            let record = created.key;
            println!(
                "{}",
                json!({"api_key": created.plaintext, "id": record.id, "scopes": record.scopes, "tier": record.tier})
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::log_json;

    #[test]
    fn logs_are_json_off_a_terminal_unless_overridden() {
        assert!(log_json(None, false));
        assert!(!log_json(None, true));
        assert!(log_json(Some("json"), true));
        assert!(!log_json(Some("text"), false));
        assert!(log_json(Some(""), false));
        assert!(!log_json(Some("other"), true));
    }
}
