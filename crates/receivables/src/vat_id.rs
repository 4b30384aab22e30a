//! EU VAT identification numbers (USt-IdNr.): the formats the member states publish for VIES.
//!
//! Only the format is checked (country prefix, length, which positions are digits or
//! letters); whether a number is issued is for VIES to say, which is an outside service and
//! has no place in a pure decision.

/// The formats per country prefix. Pattern language: `d` a digit, `l` a letter, `x` a letter
/// or digit, `[..]` one of the listed characters, `{n}` / `{n,m}` repeats the item before,
/// any other character stands for itself. Greece uses `EL`, Northern Ireland `XI`.
pub const VAT_FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["Ud{8}"]),
    ("BE", &["[01]d{9}"]),
    ("BG", &["d{9,10}"]),
    ("CY", &["d{8}l"]),
    ("CZ", &["d{8,10}"]),
    ("DE", &["d{9}"]),
    ("DK", &["d{8}"]),
    ("EE", &["d{9}"]),
    ("EL", &["d{9}"]),
    ("ES", &["ld{7}x", "d{8}l"]),
    ("FI", &["d{8}"]),
    ("FR", &["x{2}d{9}"]),
    ("HR", &["d{11}"]),
    ("HU", &["d{8}"]),
    ("IE", &["d{7}l{1,2}", "d[A-Z+*]d{5}l"]),
    ("IT", &["d{11}"]),
    ("LT", &["d{9}", "d{12}"]),
    ("LU", &["d{8}"]),
    ("LV", &["d{11}"]),
    ("MT", &["d{8}"]),
    ("NL", &["d{9}Bd{2}"]),
    ("PL", &["d{10}"]),
    ("PT", &["d{9}"]),
    ("RO", &["d{2,10}"]),
    ("SE", &["d{10}01"]),
    ("SI", &["d{8}"]),
    ("SK", &["d{10}"]),
    ("XI", &["d{9}", "d{12}", "GDd{3}", "HAd{3}"]),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatIdError {
    #[error("VAT ID is empty")]
    Empty,
    #[error("VAT ID must start with an EU country prefix (DE, AT, FR, …, EL for Greece, XI for Northern Ireland); {0:?} is none")]
    UnknownCountry(String),
    #[error("{country} VAT IDs look like {expected}")]
    Format { country: String, expected: String },
}

#[derive(Debug, Clone, Copy)]
enum Class<'a> {
    Digit,
    Letter,
    Alnum,
    OneOf(&'a str),
    Literal(u8),
}

impl Class<'_> {
    fn matches(&self, b: u8) -> bool {
        match self {
            Class::Digit => b.is_ascii_digit(),
            Class::Letter => b.is_ascii_uppercase(),
            Class::Alnum => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Class::OneOf(set) => one_of(set, b),
            Class::Literal(c) => *c == b,
        }
    }
}

/// `set` is the inside of `[..]`: characters and `A-Z` style ranges.
fn one_of(set: &str, b: u8) -> bool {
    let s = set.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if i + 2 < s.len() && s[i + 1] == b'-' {
            if (s[i]..=s[i + 2]).contains(&b) {
                return true;
            }
            i += 3;
        } else {
            if s[i] == b {
                return true;
            }
            i += 1;
        }
    }
    false
}

/// Parses a pattern into (class, min, max) items.
fn items(pattern: &str) -> Vec<(Class<'_>, usize, usize)> {
    let p = pattern.as_bytes();
    let mut out: Vec<(Class<'_>, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'{' => {
                let end = i + pattern[i..].find('}').expect("closed repeat");
                let inner = &pattern[i + 1..end];
                let (min, max) = match inner.split_once(',') {
                    Some((a, b)) => (a.parse().expect("repeat"), b.parse().expect("repeat")),
                    None => {
                        let n = inner.parse().expect("repeat");
                        (n, n)
                    }
                };
                let last = out.last_mut().expect("repeat follows an item");
                last.1 = min;
                last.2 = max;
                i = end + 1;
                continue;
            }
            b'[' => {
                let end = i + pattern[i..].find(']').expect("closed set");
                out.push((Class::OneOf(&pattern[i + 1..end]), 1, 1));
                i = end + 1;
                continue;
            }
            b'd' => out.push((Class::Digit, 1, 1)),
            b'l' => out.push((Class::Letter, 1, 1)),
            b'x' => out.push((Class::Alnum, 1, 1)),
            c => out.push((Class::Literal(c), 1, 1)),
        }
        i += 1;
    }
    out
}

fn matches_items(items: &[(Class<'_>, usize, usize)], s: &[u8]) -> bool {
    match items.split_first() {
        None => s.is_empty(),
        Some(((class, min, max), rest)) => {
            let mut n = 0;
            while n < *max && n < s.len() && class.matches(s[n]) {
                n += 1;
            }
            (*min..=n).rev().any(|k| matches_items(rest, &s[k..]))
        }
    }
}

/// True when `number` (without the country prefix) has the format `pattern`.
pub fn matches_pattern(pattern: &str, number: &str) -> bool {
    matches_items(&items(pattern), number.as_bytes())
}

/// Human-readable form of a pattern for error messages ("DE + 9 digits" style).
fn describe(country: &str, patterns: &[&str]) -> String {
    patterns
        .iter()
        .map(|p| {
            let example: String = items(p)
                .iter()
                .map(|(class, min, max)| {
                    let c = match class {
                        Class::Digit => "9".to_string(),
                        Class::Letter => "A".to_string(),
                        Class::Alnum => "X".to_string(),
                        Class::OneOf(set) => format!("[{set}]"),
                        Class::Literal(c) => char::from(*c).to_string(),
                    };
                    if min == max {
                        c.repeat(*min)
                    } else {
                        format!("{}({}..{})", c, min, max)
                    }
                })
                .collect();
            format!("{country}{example}")
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Validates an EU VAT ID and returns it upper case without spaces, dots or dashes.
pub fn validate_vat_id(input: &str) -> Result<String, VatIdError> {
    let id: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.' && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    if id.is_empty() {
        return Err(VatIdError::Empty);
    }
    let prefix: String = id.chars().take(2).collect();
    let (country, patterns) = VAT_FORMATS
        .iter()
        .find(|(c, _)| *c == prefix)
        .ok_or_else(|| VatIdError::UnknownCountry(prefix.clone()))?;
    let number = &id[2..];
    if patterns.iter().any(|p| matches_pattern(p, number)) {
        Ok(id)
    } else {
        Err(VatIdError::Format {
            country: country.to_string(),
            expected: describe(country, patterns),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_member_state() {
        for id in [
            "ATU12345678",
            "BE0123456789",
            "BG123456789",
            "BG1234567890",
            "CY12345678X",
            "CZ12345678",
            "CZ1234567890",
            "DE123456789",
            "de 123 456 789",
            "DK12345678",
            "EE123456789",
            "EL123456789",
            "ESX1234567X",
            "ESA12345678",
            "ES12345678Z",
            "FI12345678",
            "FRXX123456789",
            "FR12345678901",
            "HR12345678901",
            "HU12345678",
            "IE1234567X",
            "IE1234567WA",
            "IE1X23456X",
            "IT12345678901",
            "LT123456789",
            "LT123456789012",
            "LU12345678",
            "LV12345678901",
            "MT12345678",
            "NL123456789B01",
            "PL1234567890",
            "PT123456789",
            "RO12",
            "RO1234567890",
            "SE123456789001",
            "SI12345678",
            "SK1234567890",
            "XI123456789",
            "XIGD123",
            "XIHA123",
        ] {
            assert!(
                validate_vat_id(id).is_ok(),
                "{id}: {:?}",
                validate_vat_id(id)
            );
        }
        assert_eq!(validate_vat_id("de 123.456-789").unwrap(), "DE123456789");
    }

    #[test]
    fn refuses_wrong_formats() {
        for id in [
            "DE12345678",
            "DE1234567890",
            "DE12345678A",
            "AT12345678",
            "ATU1234567",
            "BE2123456789",
            "NL123456789A01",
            "NL12345678B01",
            "FR1234567890",
            "ES123456789",
            "SE123456789012",
            "RO1",
            "RO12345678901",
            "XIGD1234",
        ] {
            assert!(
                matches!(validate_vat_id(id), Err(VatIdError::Format { .. })),
                "{id}: {:?}",
                validate_vat_id(id)
            );
        }
        assert_eq!(
            validate_vat_id("GR123456789"),
            Err(VatIdError::UnknownCountry("GR".into()))
        );
        assert_eq!(
            validate_vat_id("CHE123456789"),
            Err(VatIdError::UnknownCountry("CH".into()))
        );
        assert_eq!(validate_vat_id(" "), Err(VatIdError::Empty));
    }

    #[test]
    fn error_names_the_format() {
        match validate_vat_id("NL12") {
            Err(VatIdError::Format { expected, .. }) => assert_eq!(expected, "NL999999999B99"),
            other => panic!("{other:?}"),
        }
        match validate_vat_id("ATX") {
            Err(VatIdError::Format { expected, .. }) => assert_eq!(expected, "ATU99999999"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn there_are_28_prefixes() {
        assert_eq!(VAT_FORMATS.len(), 28);
    }
}
