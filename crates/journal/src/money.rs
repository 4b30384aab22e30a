//! Money: decimal amounts with the precision of their currency. Never a float.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency with its number of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u32,
}

/// Minor units of the currencies kontor accepts. Kept explicit: an unknown code is an error,
/// not a guess of two decimals.
const CURRENCIES: &[(&str, u32)] = &[
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("JPY", 0),
    ("CNY", 2),
    ("DKK", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("HUF", 2),
    ("RON", 2),
    ("BGN", 2),
    ("TRY", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("INR", 2),
    ("KRW", 0),
    ("BRL", 2),
    ("MXN", 2),
    ("ZAR", 2),
    ("AED", 2),
    ("ILS", 2),
    ("ISK", 0),
    ("KWD", 3),
    ("BHD", 3),
    ("OMR", 3),
    ("TND", 3),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("{0:?} is not a decimal amount")]
    NotADecimal(String),
}

impl Currency {
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        minor_units: 2,
    };

    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, m)| {
                let b = c.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    minor_units: *m,
                }
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("currency codes are ASCII")
    }

    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// Rounds to the currency's minor unit, half away from zero (kaufmännische Rundung).
    pub fn round(&self, amount: Decimal) -> Decimal {
        let mut r =
            amount.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointAwayFromZero);
        r.rescale(self.minor_units);
        r
    }

    /// True when `amount` has no more decimals than the currency allows.
    pub fn fits(&self, amount: Decimal) -> bool {
        amount.normalize().scale() <= self.minor_units
    }

    /// The amount as the wire shows it: exactly the currency's number of decimals.
    pub fn format(&self, amount: Decimal) -> String {
        let mut a = amount;
        a.rescale(self.minor_units);
        a.to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A currency is written as its ISO 4217 code.
impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

/// Parses a decimal written as text ("1190.00", "-3", "1e3" is refused).
pub fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    // One grammar for amounts and rates: digits, optionally `.` and digits, an optional leading
    // `-`. No `+`, blanks, exponents, grouping, or a leading or trailing `.`.
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let ok = match unsigned.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(unsigned),
    };
    if !ok {
        return Err(MoneyError::NotADecimal(text.to_string()));
    }
    Decimal::from_str(text).map_err(|_| MoneyError::NotADecimal(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        macro_rules! dec {
            ($s:literal) => {
                rust_decimal::Decimal::from_str_exact($s).unwrap()
            };
        }
        pub(crate) use dec;
    }

    #[test]
    fn rounds_half_away_from_zero() {
        let eur = Currency::EUR;
        assert_eq!(eur.round(dec!("0.125")), dec!("0.13"));
        assert_eq!(eur.round(dec!("-0.125")), dec!("-0.13"));
        assert_eq!(eur.round(dec!("0.124")), dec!("0.12"));
        assert_eq!(eur.format(dec!("19")), "19.00");
    }

    #[test]
    fn knows_minor_units() {
        assert_eq!(Currency::from_code("JPY").unwrap().minor_units(), 0);
        assert!(Currency::from_code("XXX").is_err());
        assert!(Currency::EUR.fits(dec!("1.10")));
        assert!(Currency::EUR.fits(dec!("1.100")));
        assert!(!Currency::EUR.fits(dec!("1.101")));
    }

    #[test]
    fn parses_only_plain_decimals() {
        assert_eq!(parse_decimal("12.50").unwrap(), dec!("12.50"));
        assert!(parse_decimal("1e3").is_err());
        assert!(parse_decimal("").is_err());
        assert!(parse_decimal("12,50").is_err());
        for bad in [
            "+5.00", " 5.00", "5.00 ", ".5", "5.", "-", "--5", "-.5", "5..0", "1_000", "0x10",
            "5e2",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_decimal("-5.5").unwrap(), dec!("-5.5"));
        assert_eq!(parse_decimal("0.10").unwrap(), dec!("0.10"));
        assert_eq!(parse_decimal("119").unwrap(), dec!("119"));
    }
}
