//! Configuration from the environment. Every variable is listed in docs/operations.md.

use anyhow::{bail, Context};

pub struct Config {
    pub database_url: String,
    pub bind: String,
    pub secret: Option<String>,
    pub pool_size: usize,
    pub api: api::ApiConfig,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number(name: &str, default: usize) -> anyhow::Result<usize> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().with_context(|| format!("{name} must be a whole number, got {v:?}")),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let defaults = api::ApiConfig::default();
        let Some(database_url) = var("DATABASE_URL") else {
            bail!("DATABASE_URL is not set (e.g. postgres://user@127.0.0.1:5432/kontor); `make run` starts a local database for you");
        };
        Ok(Config {
            database_url,
            bind: var("KONTOR_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            secret: var("KONTOR_SECRET"),
            pool_size: number("KONTOR_DB_POOL_SIZE", 16)?,
            api: api::ApiConfig {
                max_json_bytes: number("KONTOR_MAX_JSON_BYTES", defaults.max_json_bytes)?,
                max_document_bytes: number("KONTOR_MAX_DOCUMENT_BYTES", defaults.max_document_bytes)?,
                workers: number("KONTOR_WORKERS", defaults.workers)?,
            },
        })
    }
}
