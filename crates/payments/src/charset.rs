//! The SEPA character set (EPC guidance on the use of characters in SEPA messages).
//!
//! SEPA messages carry the basic Latin set only: `a-z A-Z 0-9 / - ? : ( ) . , ' +` and the
//! space. German text is transliterated the way German banks do it (ä → ae, ö → oe, ü → ue,
//! ß → ss, Ä → Ae, …); other Latin letters lose their diacritics (é → e, ł → l, …); `&`
//! becomes `+` and typographic quotes and dashes their plain forms. Whitespace and control
//! characters become a space, every other character outside the set a `.`. Runs of spaces
//! collapse to one and the text is trimmed.
//!
//! Names are cut to 70 characters (the SEPA limit of `Nm`), an unstructured remittance holds
//! at most 140 characters (`Ustrd`), and identifiers (message, payment-information and
//! end-to-end ids) have at most 35 characters of the set without the space, neither starting
//! nor ending with `/` and without `//`.

/// The longest name SEPA carries (`Nm`, Max70Text in the SEPA rulebooks).
pub const MAX_NAME: usize = 70;
/// The longest unstructured remittance (`Ustrd`, Max140Text).
pub const MAX_REMITTANCE: usize = 140;
/// The longest identifier (Max35Text).
pub const MAX_ID: usize = 35;
/// What separates invoice numbers in a remittance.
pub const SEPARATOR: &str = ", ";

/// True for a character of the SEPA basic Latin set.
pub fn is_sepa_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '/' | '-' | '?' | ':' | '(' | ')' | '.' | ',' | '\'' | '+' | ' '
        )
}

/// The replacement of a character outside the set: its transliteration when it has one.
pub fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' => "ae",
        'ö' => "oe",
        'ü' => "ue",
        'ß' => "ss",
        'Ä' => "Ae",
        'Ö' => "Oe",
        'Ü' => "Ue",
        'ẞ' => "SS",
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'æ' => "ae",
        'Æ' => "Ae",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'Ç' | 'Ć' | 'Č' | 'Ĉ' | 'Ċ' => "C",
        'ď' | 'đ' | 'ð' => "d",
        'Ď' | 'Đ' | 'Ð' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ğ' | 'ģ' => "g",
        'Ğ' | 'Ģ' => "G",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => "I",
        'ķ' => "k",
        'Ķ' => "K",
        'ł' | 'ľ' | 'ĺ' | 'ļ' => "l",
        'Ł' | 'Ľ' | 'Ĺ' | 'Ļ' => "L",
        'ñ' | 'ń' | 'ň' | 'ņ' => "n",
        'Ñ' | 'Ń' | 'Ň' | 'Ņ' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' | 'Ō' | 'Ő' => "O",
        'œ' => "oe",
        'Œ' => "Oe",
        'ŕ' | 'ř' => "r",
        'Ŕ' | 'Ř' => "R",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'Ś' | 'Š' | 'Ş' | 'Ș' => "S",
        'ť' | 'ţ' | 'ț' => "t",
        'Ť' | 'Ţ' | 'Ț' => "T",
        'þ' => "th",
        'Þ' => "Th",
        'ù' | 'ú' | 'û' | 'ů' | 'ū' | 'ű' | 'ų' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ů' | 'Ū' | 'Ű' | 'Ų' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' | 'Ÿ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        '&' => "+",
        '"' | '‘' | '’' | '‚' | '‛' | '“' | '”' | '„' | '«' | '»' | '`' | '´' => {
            "'"
        }
        '‐' | '‑' | '‒' | '–' | '—' | '−' => "-",
        '€' => "EUR",
        _ => return None,
    })
}

/// `text` in the SEPA character set (see the module documentation). May be empty.
pub fn sepa_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut push = |s: &str| {
        for c in s.chars() {
            if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
                continue;
            }
            out.push(c);
        }
    };
    for c in text.chars() {
        if is_sepa_char(c) {
            push(c.encode_utf8(&mut [0; 4]));
        } else if let Some(t) = transliterate(c) {
            push(t);
        } else if c.is_whitespace() || c.is_control() {
            push(" ");
        } else {
            push(".");
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// `text` in the SEPA character set, cut to `max` characters (without a trailing space).
pub fn sepa_cut(text: &str, max: usize) -> String {
    let mut t = sepa_text(text);
    // The set is ASCII: characters are bytes.
    t.truncate(max);
    let trimmed = t.trim_end().len();
    t.truncate(trimmed);
    t
}

/// A name for `Nm`: in the set, at most 70 characters, never empty.
pub fn sepa_name(name: &str) -> String {
    let n = sepa_cut(name, MAX_NAME);
    if n.is_empty() {
        "NOTPROVIDED".to_string()
    } else {
        n
    }
}

/// True when `id` may serve as a message, payment-information or end-to-end id: 1 to 35
/// characters of the set without the space, not starting or ending with `/`, without `//`.
pub fn is_sepa_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id.chars().all(|c| c != ' ' && is_sepa_char(c))
        && !id.starts_with('/')
        && !id.ends_with('/')
        && !id.contains("//")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemittanceError {
    #[error("reference {index} is empty in the SEPA character set")]
    Empty { index: usize },
    #[error("reference {reference:?} is longer than {max} characters")]
    TooLong {
        index: usize,
        reference: String,
        max: usize,
    },
}

/// Packs references (invoice numbers, already in the SEPA set) into remittances of at most
/// `max` characters, joined by `", "`, in their order, never cutting one. Each chunk is the
/// remittance text and the indices of the references it carries. A reference longer than
/// `max` on its own is an error, not cut.
pub fn remittance_chunks(
    references: &[String],
    max: usize,
) -> Result<Vec<(String, Vec<usize>)>, RemittanceError> {
    let mut chunks: Vec<(String, Vec<usize>)> = Vec::new();
    for (index, r) in references.iter().enumerate() {
        if r.is_empty() {
            return Err(RemittanceError::Empty { index });
        }
        if r.len() > max {
            return Err(RemittanceError::TooLong {
                index,
                reference: r.clone(),
                max,
            });
        }
        match chunks.last_mut() {
            Some((text, members)) if text.len() + SEPARATOR.len() + r.len() <= max => {
                text.push_str(SEPARATOR);
                text.push_str(r);
                members.push(index);
            }
            _ => chunks.push((r.clone(), vec![index])),
        }
    }
    Ok(chunks)
}
