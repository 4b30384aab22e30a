//! BIC (ISO 9362): 4 letters bank code, 2 letters country code, 2 alphanumerics location,
//! optionally 3 alphanumerics branch (8 or 11 characters).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BicError {
    #[error("BIC must have 8 or 11 characters, this one has {0}")]
    WrongLength(usize),
    #[error("BIC may contain only letters A-Z and digits")]
    InvalidCharacters,
    #[error("BIC characters 1 to 4 (bank code) must be letters")]
    BankCode,
    #[error("BIC characters 5 and 6 (country code) must be letters")]
    CountryCode,
    #[error("BIC characters 7 and 8 (location) must be letters or digits")]
    Location,
    #[error("BIC characters 9 to 11 (branch) must be letters or digits")]
    Branch,
}

/// Validates a BIC and returns it upper case without spaces.
pub fn validate_bic(input: &str) -> Result<String, BicError> {
    let bic: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = bic.as_bytes();
    if !bic.is_ascii() {
        return Err(BicError::InvalidCharacters);
    }
    if !(b.len() == 8 || b.len() == 11) {
        return Err(BicError::WrongLength(b.len()));
    }
    if !b[..4].iter().all(u8::is_ascii_uppercase) {
        return Err(BicError::BankCode);
    }
    if !b[4..6].iter().all(u8::is_ascii_uppercase) {
        return Err(BicError::CountryCode);
    }
    if !b[6..8].iter().all(u8::is_ascii_alphanumeric) {
        return Err(BicError::Location);
    }
    if !b[8..].iter().all(u8::is_ascii_alphanumeric) {
        return Err(BicError::Branch);
    }
    Ok(bic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_8_and_11_characters() {
        assert_eq!(validate_bic("COBADEFFXXX").unwrap(), "COBADEFFXXX");
        assert_eq!(validate_bic("deutdeff").unwrap(), "DEUTDEFF");
        assert_eq!(validate_bic("MARK DEF1 100").unwrap(), "MARKDEF1100");
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(validate_bic("COBADEF"), Err(BicError::WrongLength(7)));
        assert_eq!(validate_bic("COBADEFFXX"), Err(BicError::WrongLength(10)));
        assert_eq!(validate_bic("C0BADEFF"), Err(BicError::BankCode));
        assert_eq!(validate_bic("COBAD3FF"), Err(BicError::CountryCode));
        assert_eq!(validate_bic("COBADEF-"), Err(BicError::Location));
        assert_eq!(validate_bic("COBADEFFX_X"), Err(BicError::Branch));
        assert_eq!(validate_bic("COBADEFÄ"), Err(BicError::InvalidCharacters));
    }
}
