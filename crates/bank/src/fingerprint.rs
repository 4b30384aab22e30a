//! The stable fingerprint of a bank transaction, so that re-importing the same file, or a
//! file that overlaps an earlier one, imports nothing twice.
//!
//! The fingerprint is blake3 over, in this order, each field followed by a 0 byte:
//!
//! 1. the domain tag `kontor.bank.tx.v1`;
//! 2. the account: the statement's IBAN, else its account number (spaces removed, upper
//!    case);
//! 3. the booking date `YYYY-MM-DD`;
//! 4. the signed amount, normalized (`-12.3` and `-12.30` are the same);
//! 5. the currency code;
//! 6. the reference: the end-to-end id, else the bank reference (trimmed);
//! 7. the remittance information (whitespace collapsed);
//! 8. the counterparty IBAN (electronic form) and name (whitespace collapsed, upper case);
//! 9. the occurrence index: 0 for the first transaction of a statement with these fields, 1
//!    for the second identical one, … — so two identical lines on one day stay two.
//!
//! The occurrence index is counted per booking day (the date is part of the fields), so a
//! later file that repeats whole days repeats the same fingerprints. A file cut inside a
//! day that splits two identical lines of that day between two files would count the second
//! one as the first again: banks cut statements at day ends.
//!
//! The account should be the bank account the file is imported into (its IBAN), so that a
//! CSV without an account column fingerprints like a camt of the same account:
//! [`fingerprints_for`]. [`fingerprints`] uses the statement's own IBAN or number.
//!
//! Not part of it: the value date, the raw text, the statement id and the balances, which
//! differ between exports of the same booking.

use crate::statement::{BankTransaction, Statement};
use std::collections::HashMap;

/// A transaction's fingerprint (32 bytes, shown as 64 hex digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn to_hex(&self) -> String {
        blake3::Hash::from(self.0).to_hex().to_string()
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn collapse(s: Option<&str>) -> String {
    s.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn key(account: &str, tx: &BankTransaction) -> Vec<u8> {
    let reference = tx
        .end_to_end_id
        .as_deref()
        .or(tx.bank_reference.as_deref())
        .map(str::trim)
        .unwrap_or("");
    let fields: [String; 9] = [
        "kontor.bank.tx.v1".to_string(),
        account
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase(),
        tx.booking_date.format("%Y-%m-%d").to_string(),
        tx.amount.normalize().to_string(),
        tx.currency.code().to_string(),
        reference.to_string(),
        collapse(tx.remittance_info.as_deref()),
        tx.counterparty_iban.clone().unwrap_or_default(),
        collapse(tx.counterparty_name.as_deref()).to_uppercase(),
    ];
    let mut bytes = Vec::new();
    for f in fields {
        bytes.extend_from_slice(f.as_bytes());
        bytes.push(0);
    }
    bytes
}

/// The fingerprint of one transaction of `account` (IBAN or account number) with its
/// occurrence index.
pub fn fingerprint(account: &str, tx: &BankTransaction, occurrence: u32) -> Fingerprint {
    let mut bytes = key(account, tx);
    bytes.extend_from_slice(&occurrence.to_be_bytes());
    Fingerprint(*blake3::hash(&bytes).as_bytes())
}

/// The fingerprints of a statement's transactions, in order, with the occurrence index
/// counted within the statement; the account is the statement's IBAN, else its number.
pub fn fingerprints(statement: &Statement) -> Vec<Fingerprint> {
    let account = statement
        .account_iban
        .as_deref()
        .or(statement.account_number.as_deref())
        .unwrap_or("");
    fingerprints_for(account, &statement.transactions)
}

/// The fingerprints of transactions imported into `account`, in order, with the occurrence
/// index counted within `transactions`.
pub fn fingerprints_for(account: &str, transactions: &[BankTransaction]) -> Vec<Fingerprint> {
    // Each key is built once (it is what `fingerprint` hashes, before the occurrence index).
    let mut seen: HashMap<Vec<u8>, u32> = HashMap::with_capacity(transactions.len());
    transactions
        .iter()
        .map(|tx| {
            let mut bytes = key(account, tx);
            let n = seen.entry(bytes.clone()).or_insert(0);
            bytes.extend_from_slice(&n.to_be_bytes());
            *n += 1;
            Fingerprint(*blake3::hash(&bytes).as_bytes())
        })
        .collect()
}
