use journal::BookingError;

/// What can go wrong below the API. The API maps each variant to one status code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A booking rule is broken (400 or 409 depending on the rule).
    #[error(transparent)]
    Booking(#[from] BookingError),
    #[error("{what} not found")]
    NotFound { what: String },
    /// Input that breaks a rule outside the booking rules (400).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// A conflict with the current state (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The `Idempotency-Key` was stored by another transaction that committed first.
    #[error("the Idempotency-Key was stored by a concurrent request")]
    IdempotencyTaken,
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("internal: {0}")]
    Internal(String),
}

impl StoreError {
    /// PostgreSQL cancelled the statement (SQLSTATE 57014), e.g. at its statement timeout.
    pub fn is_query_canceled(&self) -> bool {
        matches!(self, StoreError::Db(e)
            if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED))
    }

    pub fn not_found(what: impl Into<String>) -> StoreError {
        StoreError::NotFound { what: what.into() }
    }

    pub fn invalid(
        code: &'static str,
        message: impl Into<String>,
        field: Option<&str>,
    ) -> StoreError {
        StoreError::Invalid {
            code,
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// True when the database refused a row as a duplicate key (SQLSTATE 23505).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION))
    }
}
