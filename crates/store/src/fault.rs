//! A fault hook for crash tests: with the `fault-injection` feature, a process whose
//! `KONTOR_FAULT` names a point aborts there, as a `kill -9` would. Without the feature (every
//! release build) the hook compiles to nothing.

/// Right after the write path committed a batch, before any client got its answer.
pub const AFTER_APPEND_COMMIT: &str = "after_append_commit";
/// Right after a use case's own transaction committed, before the answer.
pub const AFTER_COMMIT: &str = "after_commit";

/// Makes the decision of a booking described as "poison" panic (the panic-isolation test).
pub const PANIC_IN_DECISION: &str = "panic_in_decision";

#[cfg(feature = "fault-injection")]
pub fn poison(cmd: &crate::appender::AppendCommand) {
    if let crate::appender::AppendCommand::Booking(b) = cmd {
        if b.description == "poison"
            && std::env::var("KONTOR_FAULT").is_ok_and(|v| v == PANIC_IN_DECISION)
        {
            panic!("poisoned command");
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn poison(_cmd: &crate::appender::AppendCommand) {}

#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    if std::env::var("KONTOR_FAULT").is_ok_and(|v| v == name) {
        eprintln!("KONTOR_FAULT={name}: aborting");
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
