//! PDFs: the XML a ZUGFeRD / Factur-X / XRechnung PDF carries as an embedded file, and the
//! text layer of any other PDF. lopdf reads the file; a panic inside it (hostile input) is
//! caught and reported as a broken PDF.

use crate::ExtractError;
use lopdf::{Document, Object};

/// Embedded file names of the hybrid formats, in order of preference.
const XML_NAMES: &[&str] = &[
    "factur-x.xml",
    "zugferd-invoice.xml",
    "xrechnung.xml",
    "zugferd_invoice.xml",
];

/// The decompressed bytes of a PDF's decoded content must stay below this.
const MAX_DECOMPRESSED: usize = 32 * 1024 * 1024;

pub struct PdfContent {
    /// (file name, bytes) of the embedded e-invoice XML, if there is one.
    pub embedded_xml: Option<(String, Vec<u8>)>,
    /// The text layer, empty for a scan.
    pub text: String,
    pub pages: usize,
}

fn load(bytes: &[u8]) -> Result<Document, ExtractError> {
    let doc = Document::load_mem(bytes).map_err(|e| ExtractError::Pdf(format!("{e}")))?;
    if doc.is_encrypted() {
        return Err(ExtractError::Pdf("encrypted PDFs are not read".into()));
    }
    Ok(doc)
}

fn name_of(doc: &Document, spec: &lopdf::Dictionary) -> Option<String> {
    for key in [b"UF".as_slice(), b"F".as_slice()] {
        if let Ok(o) = spec.get_deref(key, doc) {
            if let Ok(s) = lopdf::decode_text_string(o) {
                return Some(s);
            }
        }
    }
    None
}

/// Reads a PDF: the embedded e-invoice XML (any `/Filespec` with an `/EF`, the names of
/// ZUGFeRD, Factur-X and XRechnung first, else any `.xml`) and the text of up to 20 pages.
pub fn read_pdf(bytes: &[u8]) -> Result<PdfContent, ExtractError> {
    let bytes = bytes.to_vec();
    std::panic::catch_unwind(move || read_pdf_inner(&bytes))
        .unwrap_or_else(|_| Err(ExtractError::Pdf("the PDF could not be read".into())))
}

fn read_pdf_inner(bytes: &[u8]) -> Result<PdfContent, ExtractError> {
    let doc = load(bytes)?;
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    for obj in doc.objects.values() {
        let Ok(dict) = obj.as_dict() else { continue };
        let Ok(ef) = dict.get_deref(b"EF", &doc).and_then(Object::as_dict) else {
            continue;
        };
        let Some(name) = name_of(&doc, dict) else {
            continue;
        };
        let stream = ef
            .get_deref(b"UF", &doc)
            .or_else(|_| ef.get_deref(b"F", &doc))
            .and_then(Object::as_stream);
        if let Ok(stream) = stream {
            let content = if stream.dict.get(b"Filter").is_ok() {
                stream
                    .decompressed_content_with_limit(MAX_DECOMPRESSED)
                    .map_err(|e| ExtractError::Pdf(format!("embedded file {name}: {e}")))?
            } else {
                stream.content.clone()
            };
            found.push((name, content));
        }
    }
    let pick = XML_NAMES
        .iter()
        .find_map(|n| found.iter().position(|(f, _)| f.eq_ignore_ascii_case(n)))
        .or_else(|| {
            found
                .iter()
                .position(|(f, _)| f.to_ascii_lowercase().ends_with(".xml"))
        });
    let embedded_xml = pick.map(|i| found.swap_remove(i));
    let pages: Vec<u32> = doc.get_pages().keys().copied().take(20).collect();
    let text = if pages.is_empty() {
        String::new()
    } else {
        doc.extract_text_with_limit(&pages, MAX_DECOMPRESSED)
            .unwrap_or_default()
    };
    Ok(PdfContent {
        embedded_xml,
        text,
        pages: pages.len(),
    })
}
