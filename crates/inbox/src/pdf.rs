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
    /// The page images of a scan (see [`page_images`]), for OCR; read only when the text
    /// layer is (nearly) empty.
    pub images: Vec<Vec<u8>>,
}

/// At most this many pages of a scanned PDF are read by OCR.
pub const MAX_SCAN_PAGES: usize = 5;

/// An image of a scanned page as a file Tesseract reads: a JPEG as it is (`DCTDecode`), 8-bit
/// grey or RGB pixels as PGM / PPM, 1-bit grey pixels as PBM (`FlateDecode` or unfiltered).
/// `None` for anything else (CCITT fax, JPEG 2000, JBIG2, indexed colours, 16 bits).
pub fn image_file(
    width: i64,
    height: i64,
    color_space: Option<&str>,
    bits: Option<i64>,
    filters: &[String],
    decoded: &[u8],
    raw: &[u8],
) -> Option<Vec<u8>> {
    if filters.iter().any(|f| f == "DCTDecode") {
        return (filters.len() == 1).then(|| raw.to_vec());
    }
    if !filters.iter().all(|f| f == "FlateDecode") || width <= 0 || height <= 0 {
        return None;
    }
    let (w, h) = (usize::try_from(width).ok()?, usize::try_from(height).ok()?);
    let header = |magic: &str, max: bool| {
        let mut out = format!("{magic}\n{w} {h}\n").into_bytes();
        if max {
            out.extend_from_slice(b"255\n");
        }
        out
    };
    match (color_space, bits) {
        (Some("DeviceGray"), Some(8)) | (Some("DeviceRGB"), Some(8)) => {
            let (magic, n) = if color_space == Some("DeviceGray") {
                ("P5", 1)
            } else {
                ("P6", 3)
            };
            let len = w.checked_mul(h)?.checked_mul(n)?;
            let pixels = decoded.get(..len)?;
            let mut out = header(magic, true);
            out.extend_from_slice(pixels);
            Some(out)
        }
        (Some("DeviceGray"), Some(1)) => {
            let row = w.div_ceil(8);
            let pixels = decoded.get(..row.checked_mul(h)?)?;
            // PDF grey: 0 is black; PBM: 1 is black.
            let mut out = header("P4", false);
            out.extend(pixels.iter().map(|b| !b));
            Some(out)
        }
        _ => None,
    }
}

/// The largest image of each of the first pages, as files Tesseract reads ([`image_file`]).
fn page_images(doc: &Document, pages: &[lopdf::ObjectId]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for page in pages.iter().take(MAX_SCAN_PAGES) {
        let Ok(images) = doc.get_page_images(*page) else {
            continue;
        };
        let best = images
            .iter()
            .filter_map(|img| {
                let filters = img.filters.clone().unwrap_or_default();
                let decoded = if filters.iter().any(|f| f == "FlateDecode") {
                    let stream = doc.get_object(img.id).ok()?.as_stream().ok()?;
                    stream
                        .decompressed_content_with_limit(MAX_DECOMPRESSED)
                        .ok()?
                } else {
                    img.content.to_vec()
                };
                image_file(
                    img.width,
                    img.height,
                    img.color_space.as_deref(),
                    img.bits_per_component,
                    &filters,
                    &decoded,
                    img.content,
                )
            })
            .max_by_key(Vec::len);
        out.extend(best);
    }
    out
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
    let all = doc.get_pages();
    let pages: Vec<u32> = all.keys().copied().take(20).collect();
    let text = if pages.is_empty() {
        String::new()
    } else {
        doc.extract_text_with_limit(&pages, MAX_DECOMPRESSED)
            .unwrap_or_default()
    };
    // A scan: no text to speak of, its pages are images.
    let images = if text.trim().len() < 20 && embedded_xml.is_none() {
        let ids: Vec<lopdf::ObjectId> = all.values().copied().collect();
        page_images(&doc, &ids)
    } else {
        Vec::new()
    };
    Ok(PdfContent {
        embedded_xml,
        text,
        pages: pages.len(),
        images,
    })
}
