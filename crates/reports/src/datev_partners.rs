//! The EXTF Debitoren/Kreditoren master data file (header 700, category 16, format version 5):
//! one row per personal account, in the same encoding and quoting as the Buchungsstapel.

use crate::datev::{cp1252, extf_csv, quoted, quoted_max, DatevSettings};
use crate::datev_columns::PARTNER_COLUMNS;
use crate::error::{DatevError, ExportError};
use chrono::NaiveDate;
use std::io::Write;

pub const CATEGORY_PARTNERS: u32 = 16;
pub const FORMAT_VERSION_PARTNERS: u32 = 5;
pub const PARTNER_FIELDS: usize = PARTNER_COLUMNS.len();

/// Adressattyp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddresseeType {
    /// `1`: a natural person (Name and Vorname go to columns 4 and 5).
    Person,
    /// `2`: a company (Name goes to column 2).
    Company,
}

/// One debtor or creditor: a partner with its personal account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevPartner {
    /// The personal account (Konto), 1–9 digits.
    pub account: String,
    pub addressee_type: AddresseeType,
    /// The company name, or the person's surname (≤ 50).
    pub name: String,
    /// The person's first name (≤ 30); ignored for companies.
    pub first_name: Option<String>,
    /// Kurzbezeichnung (≤ 15).
    pub short_name: Option<String>,
    /// The EU VAT ID with its country prefix (`DE123456789`): split into EU-Land and EU-UStID.
    pub vat_id: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO country code (`DE`).
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    /// Kunden-/Lief.-Nr.: the partner number.
    pub partner_number: Option<String>,
    pub tax_number: Option<String>,
}

mod col {
    pub const KONTO: usize = 0;
    pub const NAME_COMPANY: usize = 1;
    pub const NAME_PERSON: usize = 3;
    pub const FIRST_NAME: usize = 4;
    pub const ADDRESSEE_TYPE: usize = 6;
    pub const SHORT_NAME: usize = 7;
    pub const EU_COUNTRY: usize = 8;
    pub const EU_VAT_ID: usize = 9;
    pub const ADDRESS_KIND: usize = 14;
    pub const STREET: usize = 15;
    pub const POSTAL_CODE: usize = 17;
    pub const CITY: usize = 18;
    pub const COUNTRY: usize = 19;
    pub const PHONE: usize = 28;
    pub const EMAIL: usize = 32;
    pub const WEBSITE: usize = 34;
    pub const IBAN: usize = 44;
    pub const BIC: usize = 46;
    pub const MAIN_BANK: usize = 48;
    pub const PARTNER_NUMBER: usize = 98;
    pub const TAX_NUMBER: usize = 99;
}

/// Konto, the flags, the dates and the empty fields are unquoted; every other column is text.
fn is_text(column: usize) -> bool {
    let name = PARTNER_COLUMNS[column];
    column != col::KONTO
        && !name.contains("Gültig")
        && !name.starts_with("Kennz.")
        && name != "Leerfeld"
}

/// Writes the Debitoren/Kreditoren file. The settings give the header (Berater-, Mandanten-
/// nummer, Sachkontenlänge, WJ-Beginn of `date_from`); the range is not part of this header.
pub fn write_partners<W, I>(
    out: W,
    settings: &DatevSettings,
    partners: I,
) -> Result<u64, ExportError>
where
    W: Write,
    I: IntoIterator<Item = DatevPartner>,
{
    let fy_start = settings.check()?;
    let mut csv = extf_csv(out);
    csv.write_record(partners_header(settings, fy_start))?;
    csv.write_record(PARTNER_COLUMNS.iter().map(|c| cp1252(c)))?;
    let mut fields = vec![Vec::new(); PARTNER_FIELDS];
    let mut count = 0;
    for p in partners {
        for f in fields.iter_mut() {
            f.clear();
        }
        fill_partner(&mut fields, &p)?;
        for (i, f) in fields.iter_mut().enumerate() {
            if f.is_empty() && is_text(i) {
                f.extend_from_slice(b"\"\"");
            }
        }
        csv.write_record(&fields)?;
        count += 1;
    }
    csv.flush()?;
    Ok(count)
}

fn fill_partner(f: &mut [Vec<u8>], p: &DatevPartner) -> Result<(), DatevError> {
    if p.account.is_empty() || p.account.len() > 9 || !p.account.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(DatevError::InvalidField {
            booking: p.account.clone(),
            column: "Konto",
            reason: "must be 1 to 9 digits",
        });
    }
    f[col::KONTO] = p.account.as_bytes().to_vec();
    match p.addressee_type {
        AddresseeType::Company => {
            f[col::NAME_COMPANY] = quoted_max(&p.name, 50);
            f[col::ADDRESSEE_TYPE] = quoted("2");
        }
        AddresseeType::Person => {
            f[col::NAME_PERSON] = quoted_max(&p.name, 30);
            if let Some(first) = &p.first_name {
                f[col::FIRST_NAME] = quoted_max(first, 30);
            }
            f[col::ADDRESSEE_TYPE] = quoted("1");
        }
    }
    let mut set = |c: usize, v: &Option<String>, max: usize| {
        if let Some(v) = v {
            f[c] = quoted_max(v, max);
        }
    };
    set(col::SHORT_NAME, &p.short_name, 15);
    if let Some(id) = &p.vat_id {
        let id: String = id.chars().filter(|c| !c.is_whitespace()).collect();
        if id.len() > 2 && id.is_char_boundary(2) {
            set(col::EU_COUNTRY, &Some(id[..2].to_string()), 2);
            set(col::EU_VAT_ID, &Some(id[2..].to_string()), 13);
        }
    }
    if p.street.is_some() {
        set(col::ADDRESS_KIND, &Some("STR".into()), 3);
    }
    set(col::STREET, &p.street, 36);
    set(col::POSTAL_CODE, &p.postal_code, 10);
    set(col::CITY, &p.city, 30);
    set(col::COUNTRY, &p.country, 2);
    set(col::PHONE, &p.phone, 60);
    set(col::EMAIL, &p.email, 60);
    set(col::WEBSITE, &p.website, 60);
    set(col::IBAN, &p.iban, 34);
    set(col::BIC, &p.bic, 11);
    set(col::PARTNER_NUMBER, &p.partner_number, 15);
    set(col::TAX_NUMBER, &p.tax_number, 20);
    if p.iban.is_some() {
        f[col::MAIN_BANK] = b"1".to_vec();
    }
    Ok(())
}

fn partners_header(s: &DatevSettings, fy_start: NaiveDate) -> Vec<Vec<u8>> {
    let mut h: Vec<Vec<u8>> = vec![Vec::new(); crate::datev::HEADER_FIELDS];
    h[0] = quoted("EXTF");
    h[1] = crate::datev::HEADER_VERSION.to_string().into_bytes();
    h[2] = CATEGORY_PARTNERS.to_string().into_bytes();
    h[3] = quoted("Debitoren/Kreditoren");
    h[4] = FORMAT_VERSION_PARTNERS.to_string().into_bytes();
    h[5] = s
        .created_at
        .format("%Y%m%d%H%M%S%3f")
        .to_string()
        .into_bytes();
    h[7] = quoted("");
    h[8] = quoted("kontor");
    h[9] = quoted("");
    h[10] = s.consultant_number.to_string().into_bytes();
    h[11] = s.client_number.to_string().into_bytes();
    h[12] = fy_start.format("%Y%m%d").to_string().into_bytes();
    h[13] = s.account_length.to_string().into_bytes();
    h[16] = quoted_max(&s.description, 30);
    h[17] = quoted_max(&s.dictation_code, 2);
    h[21] = quoted("");
    h[23] = quoted("");
    h[26] = quoted(&s.chart);
    h[30] = quoted("");
    h
}
