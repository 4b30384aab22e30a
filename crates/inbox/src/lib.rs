//! kontor's inbox, the pure part (issue 14): reading invoices that arrive by upload or mail.
//!
//! - [`einvoice`]: XRechnung in UBL and CII, read exactly (`source: xml`);
//! - [`pdf`]: the XML embedded in ZUGFeRD / Factur-X PDFs, and the text layer of other PDFs;
//! - [`text`]: field heuristics over a text layer or OCR output (`source: text` / `ocr`);
//! - [`tax`]: EN 16931 VAT categories to tax codes; [`checks`]: totals and § 14 UStG;
//! - [`vendor`]: vendor candidates; [`normalize`]: the review case's invoice; [`mail`]: RFC 822.
//!
//! No I/O: Tesseract runs in `app`, which hands its text to [`from_ocr_text`].

pub mod checks;
pub mod einvoice;
pub mod mail;
pub mod model;
pub mod normalize;
pub mod pdf;
pub mod tax;
pub mod text;
pub mod vendor;
pub mod xml;

pub use checks::{compliance_check, ComplianceCheck};
pub use model::{Extraction, LineItem, Source, VatBreakdown};
pub use normalize::NormalizedInvoice;
pub use vendor::{rank_vendors, Candidate, VendorRef};

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("the file is empty")]
    Empty,
    #[error("unreadable e-invoice XML: {0}")]
    Xml(String),
    #[error("unreadable PDF: {0}")]
    Pdf(String),
    #[error("{0}")]
    Unsupported(String),
}

impl ExtractError {
    /// The error envelope's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::Empty => "empty_file",
            ExtractError::Xml(_) => "invalid_xml",
            ExtractError::Pdf(_) => "invalid_pdf",
            ExtractError::Unsupported(_) => "unsupported_document",
        }
    }
}

/// What kind of file a content is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xml,
    Pdf,
    Image,
    Unknown,
}

pub fn sniff(content: &[u8]) -> Kind {
    let mut c = content;
    if c.starts_with(&[0xEF, 0xBB, 0xBF]) {
        c = &c[3..];
    }
    let start = c
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(c.len());
    let c = &c[start..];
    if c.starts_with(b"%PDF-") {
        Kind::Pdf
    } else if c.starts_with(b"<") {
        Kind::Xml
    } else if c.starts_with(b"\x89PNG\r\n\x1a\n")
        || c.starts_with(&[0xFF, 0xD8, 0xFF])
        || c.starts_with(b"II*\0")
        || c.starts_with(b"MM\0*")
    {
        Kind::Image
    } else {
        Kind::Unknown
    }
}

/// The result of reading a file without OCR: done, or an image for Tesseract.
#[derive(Debug, Clone)]
pub enum Read {
    Done(Box<Extraction>),
    /// An image: Tesseract reads the file itself.
    NeedsOcr,
    /// A scanned PDF: Tesseract reads its page images (at most `pdf::MAX_SCAN_PAGES`), with a
    /// note for the warnings.
    ScannedPdf {
        pages: Vec<Vec<u8>>,
        note: Option<String>,
    },
}

/// Reads a file: XML as an e-invoice (exactly or an error), a PDF by its embedded e-invoice
/// or else its text layer, an image → [`Read::NeedsOcr`].
pub fn read(content: &[u8]) -> Result<Read, ExtractError> {
    if content.is_empty() {
        return Err(ExtractError::Empty);
    }
    match sniff(content) {
        Kind::Xml => Ok(Read::Done(Box::new(einvoice::parse_einvoice(content)?))),
        Kind::Pdf => {
            let pdf = pdf::read_pdf(content)?;
            let mut note = None;
            if let Some((name, xml)) = pdf.embedded_xml {
                match einvoice::parse_einvoice(&xml) {
                    Ok(mut x) => {
                        x.syntax = Some(format!(
                            "{} (embedded {name})",
                            x.syntax.clone().unwrap_or_default()
                        ));
                        return Ok(Read::Done(Box::new(x)));
                    }
                    // Another syntax (ZUGFeRD 1.0's CrossIndustryDocument, an order, …): the
                    // PDF is read by its text layer, and says so.
                    Err(ExtractError::Xml(m)) if m.starts_with(einvoice::UNKNOWN_DOCUMENT) => {
                        note = Some(format!(
                            "the embedded {name} is no e-invoice kontor reads ({m}); the PDF was read by its text layer"
                        ));
                    }
                    Err(ExtractError::Xml(m)) => {
                        return Err(ExtractError::Xml(format!("{name} in the PDF: {m}")))
                    }
                    Err(other) => return Err(other),
                }
            }
            if pdf.text.trim().len() < 20 && !pdf.images.is_empty() {
                return Ok(Read::ScannedPdf {
                    pages: pdf.images,
                    note,
                });
            }
            if pdf.text.trim().len() < 20 {
                let mut x = Extraction::empty(Source::Text);
                x.warnings.push(
                    "the PDF has no text layer and no page image kontor can read (CCITT fax, JBIG2, JPEG 2000): upload the scan as PNG, JPEG or TIFF for OCR".into(),
                );
                x.warnings.extend(note);
                x.set_found_confidence(0.0);
                return Ok(Read::Done(Box::new(x)));
            }
            let mut x = text::extract_text(&pdf.text, Source::Text);
            x.warnings.extend(note);
            Ok(Read::Done(Box::new(x)))
        }
        Kind::Image => Ok(Read::NeedsOcr),
        Kind::Unknown => Err(ExtractError::Unsupported(
            "kontor reads e-invoices (XML), PDFs and images (PNG, JPEG, TIFF); this file is none of them".into(),
        )),
    }
}

/// An extraction from Tesseract's text.
pub fn from_ocr_text(text: &str) -> Extraction {
    text::extract_text(text, Source::Ocr)
}
