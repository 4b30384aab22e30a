//! A hook through which the write path reports its batches (`GET /metrics` counts them); the
//! store itself keeps no metrics.

use std::sync::OnceLock;

/// Called after each committed append transaction with the number of commands in it, how many
/// of them were appended, and how long the transaction took in seconds.
pub type AppendHook = fn(batch: usize, appended: usize, seconds: f64);

static APPEND_HOOK: OnceLock<AppendHook> = OnceLock::new();

/// Installs the hook, once per process (later calls are ignored).
pub fn set_append_hook(hook: AppendHook) {
    let _ = APPEND_HOOK.set(hook);
}

pub(crate) fn appended(batch: usize, appended: usize, started: std::time::Instant) {
    if let Some(hook) = APPEND_HOOK.get() {
        hook(batch, appended, started.elapsed().as_secs_f64());
    }
}

/// The connection pool as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max: usize,
    /// Connections lent out.
    pub in_use: usize,
    /// Open connections not lent out.
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

impl crate::Store {
    pub fn pool_status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            max: s.max_size,
            in_use: s.size.saturating_sub(s.available),
            idle: s.available,
            waiting: s.waiting,
        }
    }
}
