//! IBAN (ISO 13616): country code, two check digits, BBAN; valid when the number taken
//! mod 97 is 1 (ISO 7064 MOD 97-10) and its length is the one its country registered.

/// IBAN length per country (SWIFT IBAN registry): every SEPA country and the other countries
/// that issue IBANs. A country missing here is refused rather than guessed.
pub const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error("IBAN is empty")]
    Empty,
    #[error("IBAN may contain only letters, digits and spaces")]
    InvalidCharacters,
    #[error("IBAN must start with a country code and two check digits")]
    Malformed,
    #[error("{0} is not a country that issues IBANs")]
    UnknownCountry(String),
    #[error("a {country} IBAN has {expected} characters, this one has {actual}")]
    WrongLength {
        country: String,
        expected: usize,
        actual: usize,
    },
    #[error("IBAN check digits do not match (mod 97)")]
    Checksum,
}

/// The registered length of `country`'s IBANs.
pub fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, n)| *n)
}

/// The electronic form: without spaces, upper case.
pub fn normalize_iban(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The remainder mod 97 of the IBAN rearranged (first four characters moved to the end) with
/// letters as numbers (A = 10 … Z = 35). Expects upper-case ASCII alphanumerics.
fn mod97(rearranged: impl Iterator<Item = u8>) -> u32 {
    rearranged.fold(0u32, |acc, b| {
        if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A') + 10) % 97
        }
    })
}

/// Validates an IBAN and returns its electronic form (no spaces, upper case).
pub fn validate_iban(input: &str) -> Result<String, IbanError> {
    let iban = normalize_iban(input);
    if iban.is_empty() {
        return Err(IbanError::Empty);
    }
    if !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(IbanError::InvalidCharacters);
    }
    let bytes = iban.as_bytes();
    if bytes.len() < 5
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
    {
        return Err(IbanError::Malformed);
    }
    let country = &iban[..2];
    let expected =
        iban_length(country).ok_or_else(|| IbanError::UnknownCountry(country.to_string()))?;
    if iban.len() != expected {
        return Err(IbanError::WrongLength {
            country: country.to_string(),
            expected,
            actual: iban.len(),
        });
    }
    let rearranged = bytes[4..].iter().chain(&bytes[..4]).copied();
    if mod97(rearranged) != 1 {
        return Err(IbanError::Checksum);
    }
    Ok(iban)
}

/// The two check digits that make `country` + digits + `bban` a valid IBAN (for building
/// IBANs, e.g. in tests). `bban` must be upper-case alphanumeric.
pub fn check_digits(country: &str, bban: &str) -> String {
    let rearranged = bban.bytes().chain(country.bytes()).chain(*b"00");
    format!("{:02}", 98 - mod97(rearranged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_registry_examples() {
        for iban in [
            "DE89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91 ABNA 0417 1643 00",
            "AT61 1904 3002 3457 3201",
            "BE68 5390 0754 7034",
            "CH93 0076 2011 6238 5295 7",
            "NO93 8601 1117 947",
            "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
            "de89370400440532013000",
        ] {
            assert!(validate_iban(iban).is_ok(), "{iban}");
        }
        assert_eq!(
            validate_iban("de89 3704 0044 0532 0130 00").unwrap(),
            "DE89370400440532013000"
        );
    }

    #[test]
    fn refuses_broken_ibans() {
        assert_eq!(
            validate_iban("DE88 3704 0044 0532 0130 00"),
            Err(IbanError::Checksum)
        );
        assert_eq!(
            validate_iban("DE89 3704 0044 0532 0130 0"),
            Err(IbanError::WrongLength {
                country: "DE".into(),
                expected: 22,
                actual: 21
            })
        );
        assert_eq!(
            validate_iban("XX89 3704"),
            Err(IbanError::UnknownCountry("XX".into()))
        );
        assert_eq!(
            validate_iban("DE89-3704"),
            Err(IbanError::InvalidCharacters)
        );
        assert_eq!(validate_iban("  "), Err(IbanError::Empty));
        assert_eq!(
            validate_iban("1289370400440532013000"),
            Err(IbanError::Malformed)
        );
    }

    #[test]
    fn every_sepa_country_has_a_length() {
        for c in [
            "AD", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB",
            "GI", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MT", "NL",
            "NO", "PL", "PT", "RO", "SE", "SI", "SK", "SM", "VA",
        ] {
            assert!(iban_length(c).is_some(), "{c}");
        }
    }

    proptest! {
        #[test]
        fn built_ibans_validate_and_one_changed_digit_does_not(digits in proptest::collection::vec(0u8..10, 18), pos in 0usize..18, delta in 1u8..10) {
            let bban: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let iban = format!("DE{}{}", check_digits("DE", &bban), bban);
            prop_assert_eq!(validate_iban(&iban), Ok(iban.clone()));
            let mut changed = digits.clone();
            changed[pos] = (changed[pos] + delta) % 10;
            let bad: String = changed.iter().map(|d| char::from(b'0' + d)).collect();
            let bad = format!("DE{}{}", &iban[2..4], bad);
            prop_assert_eq!(validate_iban(&bad), Err(IbanError::Checksum));
        }
    }
}
