//! The parsers on the fixtures of `fixtures/einvoices/`, and hostile input.

use inbox::{read, ExtractError, Read, Source};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/einvoices/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect(name)
}

fn done(bytes: &[u8]) -> inbox::Extraction {
    match read(bytes).expect("readable") {
        Read::Done(x) => *x,
        Read::NeedsOcr | Read::ScannedPdf { .. } => panic!("unexpected OCR"),
    }
}

fn d(s: &str) -> Option<Decimal> {
    Some(Decimal::from_str(s).unwrap())
}

#[test]
fn ubl_xrechnung_is_read_exactly() {
    let x = done(&fixture("xrechnung-ubl.xml"));
    assert_eq!(x.source, Source::Xml);
    assert_eq!(x.vendor_name.as_deref(), Some("Bürobedarf Schmidt GmbH"));
    assert_eq!(x.vendor_vat_id.as_deref(), Some("DE136695976"));
    assert_eq!(x.vendor_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(x.invoice_number.as_deref(), Some("R-2026-0042"));
    assert_eq!(x.invoice_date.unwrap().to_string(), "2026-03-02");
    assert_eq!(x.due_date.unwrap().to_string(), "2026-03-30");
    assert_eq!(x.service_date.unwrap().to_string(), "2026-02-27");
    assert_eq!(
        (x.total_net, x.total_tax, x.total_gross),
        (d("190.00"), d("33.70"), d("223.70"))
    );
    assert_eq!(x.line_items.len(), 3);
    let codes: Vec<_> = x
        .line_items
        .iter()
        .map(|l| l.tax_code.clone().unwrap())
        .collect();
    assert_eq!(codes, ["VSt19", "VSt19", "VSt7"]);
    assert_eq!(x.cash_discount_percent, d("2.00"));
    assert_eq!(x.cash_discount_days, Some(14));
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    assert!(x.confidence.values().all(|c| *c == 1.0 || *c == 0.0));
    let check = inbox::compliance_check(&x);
    assert!(check.compliant && check.e_invoice, "{check:?}");
}

#[test]
fn cii_xrechnung_is_read_exactly() {
    let x = done(&fixture("xrechnung-cii.xml"));
    assert_eq!(x.vendor_name.as_deref(), Some("IT-Service Weber GmbH"));
    assert_eq!(x.vendor_vat_id.as_deref(), Some("DE136695976"));
    assert_eq!(x.vendor_iban.as_deref(), Some("DE02120300000000202051"));
    assert_eq!(x.invoice_number.as_deref(), Some("CII-2026-0107"));
    assert_eq!(x.invoice_date.unwrap().to_string(), "2026-03-05");
    assert_eq!(x.due_date.unwrap().to_string(), "2026-04-04");
    assert_eq!(x.service_date.unwrap().to_string(), "2026-03-31");
    assert_eq!(
        (x.total_net, x.total_tax, x.total_gross),
        (d("760.00"), d("144.40"), d("904.40"))
    );
    assert_eq!(x.line_items[0].tax_code.as_deref(), Some("VSt19"));
    assert_eq!(
        (x.cash_discount_percent, x.cash_discount_days),
        (d("3.00"), Some(10))
    );
    assert!(inbox::compliance_check(&x).compliant);
}

#[test]
fn zugferd_pdf_is_read_from_its_embedded_xml() {
    let x = done(&fixture("zugferd-en16931.pdf"));
    assert_eq!(x.source, Source::Xml);
    assert_eq!(x.invoice_number.as_deref(), Some("ZF-2026-0001"));
    assert_eq!(x.total_gross, d("904.40"));
    assert!(x.syntax.unwrap().contains("factur-x.xml"));
    assert_eq!(x.profile.as_deref(), Some("urn:cen.eu:en16931:2017"));
}

#[test]
fn text_layer_pdf_with_heuristics() {
    let x = done(&fixture("text-layer.pdf"));
    assert_eq!(x.source, Source::Text);
    assert_eq!(x.vendor_name.as_deref(), Some("Druckerei Lehmann GmbH"));
    assert_eq!(x.vendor_vat_id.as_deref(), Some("DE136695976"));
    assert_eq!(x.vendor_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(x.invoice_number.as_deref(), Some("DL-2026-311"));
    assert_eq!(x.invoice_date.unwrap().to_string(), "2026-03-12");
    assert_eq!(x.service_date.unwrap().to_string(), "2026-03-10");
    assert_eq!(x.due_date.unwrap().to_string(), "2026-03-26");
    assert_eq!(
        (x.total_net, x.total_tax, x.total_gross),
        (d("340.00"), d("64.60"), d("404.60"))
    );
    assert_eq!(
        (x.cash_discount_percent, x.cash_discount_days),
        (d("2"), Some(10))
    );
    assert_eq!(x.line_items.len(), 2, "{:?}", x.line_items);
    assert_eq!(
        x.line_items[0].description.as_deref(),
        Some("Flyer A5, 4/4-farbig")
    );
    assert_eq!(
        (x.line_items[0].quantity, x.line_items[0].unit_price),
        (d("1000"), d("0.25"))
    );
    assert_eq!(x.line_items[1].net, d("90.00"));
    assert_eq!(x.line_items[0].tax_code.as_deref(), Some("VSt19"));
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    assert!(x.confidence["total_gross"] >= 0.9);
    let check = inbox::compliance_check(&x);
    assert!(check.compliant && !check.e_invoice, "{check:?}");
    assert!(check
        .requirements
        .iter()
        .any(|r| r.field == "buyer_name" && !r.verifiable));
}

#[test]
fn png_needs_ocr() {
    assert!(matches!(read(&fixture("scan.png")), Ok(Read::NeedsOcr)));
}

#[test]
fn totals_that_do_not_add_up_lower_the_confidence() {
    let xml = String::from_utf8(fixture("xrechnung-ubl.xml"))
        .unwrap()
        .replace(">223.70<", ">233.70<");
    let x = done(xml.as_bytes());
    assert!(x.confidence["total_gross"] < 0.5);
    assert!(
        x.warnings.iter().any(|w| w.contains("do not add up")),
        "{:?}",
        x.warnings
    );
}

#[test]
fn minimum_profile_is_read_but_flagged() {
    let xml = String::from_utf8(fixture("xrechnung-cii.xml"))
        .unwrap()
        .replace(
            "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
            "urn:factur-x.eu:1p0:minimum",
        );
    let x = done(xml.as_bytes());
    assert!(x.warnings.iter().any(|w| w.contains("MINIMUM")));
    assert!(!inbox::compliance_check(&x).e_invoice);
}

#[test]
fn vat_categories_map_to_tax_codes() {
    use inbox::tax::tax_code;
    let cases = [
        ("S", Some("19"), Some("VSt19")),
        ("S", Some("19.00"), Some("VSt19")),
        ("S", Some("7"), Some("VSt7")),
        ("AE", Some("0"), Some("RC19")),
        ("K", Some("0"), Some("IGE19")),
        ("E", Some("0"), Some("VSt0")),
        ("Z", Some("0"), Some("VSt0")),
        ("G", Some("0"), Some("VSt0")),
        ("O", None, Some("VSt0")),
        ("S", Some("16"), None),
        ("L", Some("7"), None),
    ];
    for (cat, rate, want) in cases {
        let got = tax_code(cat, rate.map(|r| Decimal::from_str(r).unwrap()));
        assert_eq!(got.as_deref(), want, "{cat} {rate:?}");
    }
}

#[test]
fn heuristics_table() {
    use inbox::text::{parse_amount, parse_date, vat_id_checks};
    assert_eq!(parse_amount("1.234,56"), d("1234.56"));
    assert_eq!(parse_amount("1234,56"), d("1234.56"));
    assert_eq!(parse_amount("1,234.56"), d("1234.56"));
    assert_eq!(parse_amount("12.00"), d("12.00"));
    assert_eq!(parse_date("14.03.2026").unwrap().to_string(), "2026-03-14");
    assert_eq!(parse_date("2026-03-14").unwrap().to_string(), "2026-03-14");
    assert!(parse_date("31.02.2026").is_none());
    let x = inbox::text::extract_text(
        "Firma\nIBAN: DE89 3704 0044 0532 0130.00 BIC: COBADEFFXXX\nIBAN DE12 3456 7890 1234 5678 90\n",
        Source::Ocr,
    );
    assert_eq!(x.vendor_iban.as_deref(), Some("DE89370400440532013000"));
    // The service date before the invoice date; the rate with decimals before the tax.
    let x = inbox::text::extract_text(
        "Muster GmbH\nLeistungsdatum: 01.02.2026\nRechnungsdatum: 05.02.2026\nRechnung Nr. A-17\nNetto 100,00 EUR\nMwSt 19,00 %: 19,00 EUR\nGesamtbetrag 119,00 EUR\n",
        Source::Text,
    );
    assert_eq!(x.invoice_date.unwrap().to_string(), "2026-02-05");
    assert_eq!(x.service_date.unwrap().to_string(), "2026-02-01");
    assert_eq!(x.invoice_number.as_deref(), Some("A-17"));
    assert_eq!(
        (x.total_net, x.total_tax, x.total_gross),
        (d("100.00"), d("19.00"), d("119.00"))
    );
    let x = inbox::text::extract_text(
        "Muster GmbH\nRechnungsnummer: 9\nNetto 200,00\nMwSt 19,00 %\nBrutto 238,00\n",
        Source::Text,
    );
    assert_eq!(x.total_tax, d("38.00"), "{:?}", x.warnings);
    assert!(vat_id_checks("DE136695976"));
    assert!(!vat_id_checks("DE136695975"));
}

#[test]
fn hostile_xml_is_a_clear_error() {
    let cases: &[&[u8]] = &[
        b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><Invoice>&lol2;</Invoice>",
        b"<Invoice><ID>1</ID>",
        b"<Foo/>",
        b"<Invoice><LegalMonetaryTotal><TaxInclusiveAmount>99999999999999999999999999999999999999</TaxInclusiveAmount></LegalMonetaryTotal></Invoice>",
        b"<Invoice>\0</Invoice",
    ];
    for c in cases {
        match read(c) {
            Err(ExtractError::Xml(_)) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(c)),
        }
    }
    let deep = "<a>".repeat(200) + &"</a>".repeat(200);
    assert!(matches!(read(deep.as_bytes()), Err(ExtractError::Xml(_))));
    assert!(matches!(
        read(b"%PDF-1.7\ngarbage"),
        Err(ExtractError::Pdf(_))
    ));
    let pdf = fixture("zugferd-en16931.pdf");
    assert!(matches!(
        read(&pdf[..pdf.len() / 3]),
        Err(ExtractError::Pdf(_))
    ));
    assert!(matches!(read(b"hello"), Err(ExtractError::Unsupported(_))));
    assert!(matches!(read(b""), Err(ExtractError::Empty)));
}

#[test]
fn mail_attachments_are_found() {
    let raw = b"From: billing@vendor.test\r\nTo: inbox-abc@in.kontor.test\r\nSubject: Rechnung 42\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nAnbei die Rechnung.\r\n--XX\r\nContent-Type: application/xml\r\nContent-Disposition: attachment; filename=\"r.xml\"\r\n\r\n<Invoice/>\r\n--XX--\r\n";
    let m = inbox::mail::parse_mail(raw).unwrap();
    assert_eq!(m.subject.as_deref(), Some("Rechnung 42"));
    assert_eq!(m.recipients, ["inbox-abc@in.kontor.test"]);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].name, "r.xml");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read(&bytes);
        let _ = inbox::from_ocr_text(&String::from_utf8_lossy(&bytes));
        let _ = inbox::mail::parse_mail(&bytes);
    }

    #[test]
    fn prefixed_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..1024), kind in 0..3usize) {
        let mut bytes = [b"%PDF-1.7\n".as_slice(), b"<Invoice>", b"<CrossIndustryInvoice><SupplyChainTradeTransaction>"][kind].to_vec();
        bytes.extend(tail);
        let _ = read(&bytes);
    }
}

/// The ZUGFeRD fixture with another embedded XML.
fn zugferd_with(xml: &[u8]) -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(&fixture("zugferd-en16931.pdf")).unwrap();
    for obj in doc.objects.values_mut() {
        if let Ok(stream) = obj.as_stream_mut() {
            if stream
                .dict
                .get(b"Type")
                .and_then(|t| t.as_name())
                .is_ok_and(|n| n == b"EmbeddedFile")
            {
                stream.dict.remove(b"Filter");
                stream.set_content(xml.to_vec());
            }
        }
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn a_pdf_with_another_embedded_xml_is_read_by_its_text_and_says_so() {
    let x = done(&zugferd_with(
        b"<CrossIndustryDocument><Header/></CrossIndustryDocument>",
    ));
    assert_eq!(x.source, Source::Text);
    assert!(
        x.warnings
            .iter()
            .any(|w| w.contains("factur-x.xml is no e-invoice")),
        "{:?}",
        x.warnings
    );
    // Broken embedded XML stays an error.
    assert!(matches!(
        read(&zugferd_with(b"<CrossIndustryInvoice><unclosed>")),
        Err(ExtractError::Xml(m)) if m.contains("factur-x.xml")
    ));
}

#[test]
fn a_scanned_pdf_gives_its_page_images_for_ocr() {
    match inbox::read(&fixture("scan.pdf")).unwrap() {
        inbox::Read::ScannedPdf { pages, note } => {
            assert_eq!(pages.len(), 1);
            assert_eq!(&pages[0][..2], &[0xFF, 0xD8], "the JPEG as it is");
            assert_eq!(note, None);
        }
        other => panic!("{other:?}"),
    }
    // A PDF with a text layer is read by its text, not by OCR.
    assert!(matches!(
        inbox::read(&fixture("text-layer.pdf")).unwrap(),
        inbox::Read::Done(_)
    ));
}

#[test]
fn page_images_become_files_tesseract_reads() {
    use inbox::pdf::image_file;
    let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let grey = [10u8, 20, 30, 40, 50, 60];
    // 8-bit grey → PGM, RGB → PPM, 1-bit grey → PBM with black as 1.
    let pgm = image_file(
        3,
        2,
        Some("DeviceGray"),
        Some(8),
        &f(&["FlateDecode"]),
        &grey,
        b"",
    )
    .unwrap();
    assert_eq!(pgm, [b"P5\n3 2\n255\n".as_slice(), &grey].concat());
    let rgb: Vec<u8> = (0..18).collect();
    let ppm = image_file(3, 2, Some("DeviceRGB"), Some(8), &[], &rgb, b"").unwrap();
    assert!(ppm.starts_with(b"P6\n3 2\n255\n") && ppm.ends_with(&rgb));
    let pbm = image_file(
        9,
        1,
        Some("DeviceGray"),
        Some(1),
        &[],
        &[0b1111_0000, 0b1000_0000],
        b"",
    )
    .unwrap();
    assert_eq!(
        pbm,
        [b"P4\n9 1\n".as_slice(), &[0b0000_1111, 0b0111_1111]].concat()
    );
    // A JPEG stays as it is.
    let jpeg = [0xFFu8, 0xD8, 0xFF, 0xE0];
    assert_eq!(
        image_file(
            1,
            1,
            Some("DeviceRGB"),
            Some(8),
            &f(&["DCTDecode"]),
            b"",
            &jpeg
        )
        .unwrap(),
        jpeg
    );
    // What Tesseract cannot take from here: CCITT fax, JBIG2, indexed colours, 16 bits, too
    // few pixels, no size.
    assert_eq!(
        image_file(
            8,
            1,
            Some("DeviceGray"),
            Some(1),
            &f(&["CCITTFaxDecode"]),
            &[0],
            &[0]
        ),
        None
    );
    assert_eq!(
        image_file(
            8,
            1,
            Some("DeviceGray"),
            Some(1),
            &f(&["JBIG2Decode"]),
            &[0],
            &[0]
        ),
        None
    );
    assert_eq!(
        image_file(2, 1, Some("Indexed"), Some(8), &[], &[0, 0], b""),
        None
    );
    assert_eq!(
        image_file(2, 1, Some("DeviceGray"), Some(16), &[], &[0; 4], b""),
        None
    );
    assert_eq!(
        image_file(3, 2, Some("DeviceGray"), Some(8), &[], &grey[..5], b""),
        None
    );
    assert_eq!(
        image_file(0, 2, Some("DeviceGray"), Some(8), &[], &grey, b""),
        None
    );
    assert_eq!(
        image_file(
            i64::MAX,
            i64::MAX,
            Some("DeviceRGB"),
            Some(8),
            &[],
            &grey,
            b""
        ),
        None
    );
}
