//! The errors of reading a statement file.

use journal::{Rule, RuleKind};

/// A statement file that cannot be read. Each names where it broke: the line (MT940, CSV) or
/// the element path and byte offset (camt). Nothing of a file that fails is to be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("camt: {message} at {element} (byte {position})")]
    Camt {
        element: String,
        position: u64,
        message: String,
    },
    #[error("MT940 line {line}: {message}")]
    Mt940 { line: usize, message: String },
    #[error("CSV line {line}{}: {message}", column.as_ref().map(|c| format!(", column {c:?}")).unwrap_or_default())]
    Csv {
        line: u64,
        column: Option<String>,
        message: String,
    },
    #[error("the statement format is not recognized (camt, mt940 or csv)")]
    UnknownFormat,
    #[error("the file has no statement")]
    Empty,
    #[error("reading the file: {0}")]
    Read(String),
}

impl ParseError {
    /// Where the file broke, for the response: `line 12` or the camt element path.
    pub fn location(&self) -> Option<String> {
        match self {
            ParseError::Camt { element, .. } => Some(element.clone()),
            ParseError::Mt940 { line, .. } => Some(format!("line {line}")),
            ParseError::Csv { line, column, .. } => Some(match column {
                Some(c) => format!("line {line}, column {c}"),
                None => format!("line {line}"),
            }),
            _ => None,
        }
    }
}

impl Rule for ParseError {
    fn code(&self) -> &'static str {
        match self {
            ParseError::UnknownFormat => "unknown_statement_format",
            ParseError::Empty => "empty_statement",
            _ => "malformed_statement",
        }
    }
    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }
    fn field(&self) -> Option<String> {
        Some(match self {
            ParseError::UnknownFormat => "format".to_string(),
            _ => "file".to_string(),
        })
    }
}
