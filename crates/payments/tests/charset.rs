use payments::charset::{is_sepa_char, sepa_cut, SEPARATOR};
use payments::{is_sepa_id, remittance_chunks, sepa_name, sepa_text, transliterate, MAX_NAME};

#[test]
fn transliteration_table() {
    let table = [
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("ß", "ss"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
        ("ẞ", "SS"),
        ("Müller & Söhne GmbH", "Mueller + Soehne GmbH"),
        ("Straße", "Strasse"),
        ("Société Générale", "Societe Generale"),
        ("Łódź", "Lodz"),
        ("Ørsted A/S", "Orsted A/S"),
        ("Smørrebrød", "Smorrebrod"),
        ("Œuvre", "Oeuvre"),
        ("Bäckerei „Zur Mühle“", "Baeckerei 'Zur Muehle'"),
        ("A–B", "A-B"),
        ("100 €", "100 EUR"),
        ("O'Neil (Ltd.)", "O'Neil (Ltd.)"),
        ("a?b:c+d,e/f-g", "a?b:c+d,e/f-g"),
    ];
    for (input, want) in table {
        assert_eq!(sepa_text(input), want, "{input:?}");
    }
    assert_eq!(transliterate('x'), None);
}

#[test]
fn other_characters_are_replaced() {
    let table = [
        ("a@b.de", "a.b.de"),
        ("50% Rabatt", "50. Rabatt"),
        ("x_y", "x.y"),
        ("<tag>", ".tag."),
        ("東京", ".."),
        ("😀 Firma", ". Firma"),
        ("Zeile 1\nZeile 2\tEnde", "Zeile 1 Zeile 2 Ende"),
        ("  viele   Leerzeichen  ", "viele Leerzeichen"),
        ("", ""),
    ];
    for (input, want) in table {
        assert_eq!(sepa_text(input), want, "{input:?}");
    }
}

#[test]
fn names_are_cut_to_70() {
    let long = "Ä".repeat(50); // 100 characters transliterated
    let n = sepa_name(&long);
    assert_eq!(n.len(), MAX_NAME);
    assert!(n.starts_with("AeAe"));
    // No trailing space after the cut.
    let spaced = format!("{} {}", "a".repeat(69), "b".repeat(10));
    assert_eq!(sepa_name(&spaced), "a".repeat(69));
    assert_eq!(sepa_name("   "), "NOTPROVIDED");
    assert_eq!(sepa_cut("Grüße", 4), "Grue");
    assert!(sepa_name(&"€ü😀".repeat(40)).chars().all(is_sepa_char));
}

#[test]
fn identifiers() {
    for ok in [
        "A",
        "M0ABC-1",
        "RUN/2026/1",
        &"X".repeat(35),
        "a+b?c:d(e).f,g'h",
    ] {
        assert!(is_sepa_id(ok), "{ok:?}");
    }
    for bad in [
        "",
        " ",
        "A B",
        "/A",
        "A/",
        "A//B",
        &"X".repeat(36),
        "Ä",
        "A_B",
    ] {
        assert!(!is_sepa_id(bad), "{bad:?}");
    }
}

fn refs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn remittance_splitting_table() {
    // (references, max, expected chunks as their members)
    let ten = "0123456789";
    let table: Vec<(Vec<String>, usize, Vec<Vec<usize>>)> = vec![
        (refs(&["RE-1"]), 140, vec![vec![0]]),
        (refs(&["RE-1", "RE-2", "RE-3"]), 140, vec![vec![0, 1, 2]]),
        // 10 + 2 + 10 = 22 fits exactly, the third does not.
        (refs(&[ten, ten, ten]), 22, vec![vec![0, 1], vec![2]]),
        (refs(&[ten, ten, ten]), 21, vec![vec![0], vec![1], vec![2]]),
        (refs(&[ten, "A", ten]), 24, vec![vec![0, 1], vec![2]]),
        (vec![], 140, vec![]),
    ];
    for (references, max, want) in table {
        let chunks = remittance_chunks(&references, max).unwrap();
        let members: Vec<Vec<usize>> = chunks.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(members, want, "{references:?} in {max}");
        for (text, m) in &chunks {
            assert!(text.len() <= max);
            let parts: Vec<&str> = text.split(SEPARATOR).collect();
            let expected: Vec<&str> = m.iter().map(|i| references[*i].as_str()).collect();
            assert_eq!(parts, expected, "never cut, in order");
        }
    }
}

#[test]
fn forty_invoice_numbers_split_over_140() {
    let numbers: Vec<String> = (1..=40).map(|n| format!("RE-2026-{n:05}")).collect();
    let chunks = remittance_chunks(&numbers, 140).unwrap();
    // 13 characters each, 15 with the separator: 9 per remittance (9*13 + 8*2 = 133).
    assert_eq!(chunks.len(), 5);
    assert_eq!(chunks[0].1.len(), 9);
    let all: Vec<usize> = chunks.iter().flat_map(|(_, m)| m.clone()).collect();
    assert_eq!(all, (0..40).collect::<Vec<_>>());
    assert!(chunks.iter().all(|(t, _)| t.len() <= 140));
}

#[test]
fn a_reference_is_never_cut() {
    let e = remittance_chunks(&refs(&["RE-1", &"9".repeat(141)]), 140).unwrap_err();
    assert!(matches!(
        e,
        payments::RemittanceError::TooLong { index: 1, .. }
    ));
    let e = remittance_chunks(&refs(&[""]), 140).unwrap_err();
    assert!(matches!(e, payments::RemittanceError::Empty { index: 0 }));
    assert_eq!(
        remittance_chunks(&refs(&[&"9".repeat(140)]), 140)
            .unwrap()
            .len(),
        1
    );
}
