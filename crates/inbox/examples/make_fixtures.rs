//! Writes the PDF fixtures of `fixtures/einvoices/` reproducibly (no dates, no random ids):
//!
//!     cargo run -p inbox --example make_fixtures
//!
//! - `zugferd-en16931.pdf`: a Factur-X / ZUGFeRD 2 PDF (profile EN 16931) carrying
//!   `factur-x.xml` as an embedded file (`/Names /EmbeddedFiles` and `/AF`);
//! - `text-layer.pdf`: an ordinary invoice PDF with a text layer (Helvetica);
//! - with `--scan PAGE.jpg`: `scan.pdf`, a scanned invoice — one page that is only that JPEG
//!   (`DCTDecode`), no text layer — for the OCR path of PDFs;
//!
//! `fixtures/einvoices/render.sh` runs this and then renders `scan.png` and `scan-photo.jpg`
//! from the text PDF for the OCR path (pdftoppm of poppler-utils, ImageMagick).

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream, StringFormat};
use std::path::Path;

fn page_pdf(lines: &[&str], attachment: Option<(&str, Vec<u8>)>) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 11.into()]),
        Operation::new("TL", vec![16.into()]),
        Operation::new("Td", vec![56.into(), 780.into()]),
    ];
    for l in lines {
        let bytes: Vec<u8> = l
            .chars()
            .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
            .collect();
        ops.push(Operation::new(
            "Tj",
            vec![Object::String(bytes, StringFormat::Literal)],
        ));
        ops.push(Operation::new("T*", vec![]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        content.encode().expect("content"),
    ));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
    if let Some((name, xml)) = attachment {
        let file_id = doc.add_object(Stream::new(
            dictionary! { "Type" => "EmbeddedFile", "Subtype" => "text#2Fxml",
            "Params" => dictionary! { "Size" => xml.len() as i64 } },
            xml,
        ));
        let spec_id = doc.add_object(dictionary! {
            "Type" => "Filespec",
            "F" => Object::string_literal(name),
            "UF" => Object::string_literal(name),
            "AFRelationship" => "Data",
            "Desc" => Object::string_literal("Factur-X / ZUGFeRD invoice"),
            "EF" => dictionary! { "F" => file_id, "UF" => file_id },
        });
        catalog.set(
            "Names",
            dictionary! { "EmbeddedFiles" => dictionary! {
            "Names" => vec![Object::string_literal(name), spec_id.into()] } },
        );
        catalog.set("AF", vec![spec_id.into()]);
    }
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", catalog_id);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// Width and height of a baseline or progressive JPEG (its SOF marker).
fn jpeg_size(jpeg: &[u8]) -> (i64, i64) {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        let marker = jpeg[i + 1];
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if matches!(marker, 0xC0..=0xC2) {
            let h = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]) as i64;
            let w = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]) as i64;
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("no SOF marker in the JPEG");
}

/// A PDF of one A4 page that is only the given JPEG, as a scanner writes it.
fn scan_pdf(jpeg: Vec<u8>) -> Vec<u8> {
    let (w, h) = jpeg_size(&jpeg);
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let image_id = doc.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode" },
        jpeg,
    ));
    let resources_id = doc.add_object(dictionary! {
        "XObject" => dictionary! { "Im0" => image_id },
    });
    let content = Content {
        operations: vec![
            Operation::new("q", vec![]),
            Operation::new(
                "cm",
                vec![
                    595.into(),
                    0.into(),
                    0.into(),
                    842.into(),
                    0.into(),
                    0.into(),
                ],
            ),
            Operation::new("Do", vec!["Im0".into()]),
            Operation::new("Q", vec![]),
        ],
    };
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        content.encode().expect("content"),
    ));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/einvoices");
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--scan") {
        let jpeg = std::fs::read(&args[at + 1]).expect("the page JPEG");
        std::fs::write(dir.join("scan.pdf"), scan_pdf(jpeg)).expect("write");
        println!("wrote {}", dir.join("scan.pdf").display());
        return;
    }
    let cii = std::fs::read_to_string(dir.join("xrechnung-cii.xml")).expect("xrechnung-cii.xml");
    let facturx = cii
        .replace(
            "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
            "urn:cen.eu:en16931:2017",
        )
        .replace("CII-2026-0107", "ZF-2026-0001");
    let zugferd = page_pdf(
        &[
            "IT-Service Weber GmbH",
            "Marienplatz 2, 80331 Muenchen",
            "",
            "Rechnung ZF-2026-0001 (ZUGFeRD / Factur-X EN 16931)",
            "Die maschinenlesbaren Rechnungsdaten sind als factur-x.xml eingebettet.",
        ],
        Some(("factur-x.xml", facturx.into_bytes())),
    );
    std::fs::write(dir.join("zugferd-en16931.pdf"), zugferd).expect("write");
    let text = page_pdf(
        &[
            "Druckerei Lehmann GmbH",
            "Gartenweg 12",
            "50667 Koeln",
            "USt-IdNr.: DE136695976",
            "",
            "Acme GmbH, Industrieweg 1, 20095 Hamburg",
            "",
            "RECHNUNG",
            "Rechnungsnummer: DL-2026-311",
            "Rechnungsdatum: 12.03.2026",
            "Leistungsdatum: 10.03.2026",
            "",
            "Pos.  Beschreibung            Menge   Einzelpreis   Gesamt",
            "1     Flyer A5, 4/4-farbig     1000          0,25   250,00",
            "2     Visitenkarten             500          0,18    90,00",
            "",
            "Summe netto: 340,00 EUR",
            "zzgl. MwSt 19 %: 64,60 EUR",
            "Gesamtbetrag: 404,60 EUR",
            "",
            "Zahlbar bis 26.03.2026. 2 % Skonto bei Zahlung innerhalb von 10 Tagen.",
            "IBAN: DE89 3704 0044 0532 0130 00   BIC: COBADEFFXXX",
        ],
        None,
    );
    std::fs::write(dir.join("text-layer.pdf"), text).expect("write");
    println!("wrote {}", dir.display());
}
