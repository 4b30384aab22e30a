//! The 125 column names of the EXTF Buchungsstapel (format version 13), in file order, as
//! listed in `shared/formats/DATEV-EXTF.md`.

pub const BUCHUNGSSTAPEL_COLUMNS: [&str; 125] = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    "Beleginfo - Art 1",
    "Beleginfo - Inhalt 1",
    "Beleginfo - Art 2",
    "Beleginfo - Inhalt 2",
    "Beleginfo - Art 3",
    "Beleginfo - Inhalt 3",
    "Beleginfo - Art 4",
    "Beleginfo - Inhalt 4",
    "Beleginfo - Art 5",
    "Beleginfo - Inhalt 5",
    "Beleginfo - Art 6",
    "Beleginfo - Inhalt 6",
    "Beleginfo - Art 7",
    "Beleginfo - Inhalt 7",
    "Beleginfo - Art 8",
    "Beleginfo - Inhalt 8",
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    "Zusatzinformation - Art 1",
    "Zusatzinformation- Inhalt 1",
    "Zusatzinformation - Art 2",
    "Zusatzinformation- Inhalt 2",
    "Zusatzinformation - Art 3",
    "Zusatzinformation- Inhalt 3",
    "Zusatzinformation - Art 4",
    "Zusatzinformation- Inhalt 4",
    "Zusatzinformation - Art 5",
    "Zusatzinformation- Inhalt 5",
    "Zusatzinformation - Art 6",
    "Zusatzinformation- Inhalt 6",
    "Zusatzinformation - Art 7",
    "Zusatzinformation- Inhalt 7",
    "Zusatzinformation - Art 8",
    "Zusatzinformation- Inhalt 8",
    "Zusatzinformation - Art 9",
    "Zusatzinformation- Inhalt 9",
    "Zusatzinformation - Art 10",
    "Zusatzinformation- Inhalt 10",
    "Zusatzinformation - Art 11",
    "Zusatzinformation- Inhalt 11",
    "Zusatzinformation - Art 12",
    "Zusatzinformation- Inhalt 12",
    "Zusatzinformation - Art 13",
    "Zusatzinformation- Inhalt 13",
    "Zusatzinformation - Art 14",
    "Zusatzinformation- Inhalt 14",
    "Zusatzinformation - Art 15",
    "Zusatzinformation- Inhalt 15",
    "Zusatzinformation - Art 16",
    "Zusatzinformation- Inhalt 16",
    "Zusatzinformation - Art 17",
    "Zusatzinformation- Inhalt 17",
    "Zusatzinformation - Art 18",
    "Zusatzinformation- Inhalt 18",
    "Zusatzinformation - Art 19",
    "Zusatzinformation- Inhalt 19",
    "Zusatzinformation - Art 20",
    "Zusatzinformation- Inhalt 20",
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Buchungs GUID",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
];

/// Whether a column is a text column (written in double quotes, also when empty).
pub const BUCHUNGSSTAPEL_IS_TEXT: [bool; 125] = [
    false, // 1 Umsatz (ohne Soll/Haben-Kz)
    true,  // 2 Soll/Haben-Kennzeichen
    true,  // 3 WKZ Umsatz
    false, // 4 Kurs
    false, // 5 Basis-Umsatz
    true,  // 6 WKZ Basis-Umsatz
    false, // 7 Konto
    false, // 8 Gegenkonto (ohne BU-Schlüssel)
    true,  // 9 BU-Schlüssel
    false, // 10 Belegdatum
    true,  // 11 Belegfeld 1
    true,  // 12 Belegfeld 2
    false, // 13 Skonto
    true,  // 14 Buchungstext
    false, // 15 Postensperre
    true,  // 16 Diverse Adressnummer
    false, // 17 Geschäftspartnerbank
    false, // 18 Sachverhalt
    false, // 19 Zinssperre
    true,  // 20 Beleglink
    true,  // 21 Beleginfo - Art 1
    true,  // 22 Beleginfo - Inhalt 1
    true,  // 23 Beleginfo - Art 2
    true,  // 24 Beleginfo - Inhalt 2
    true,  // 25 Beleginfo - Art 3
    true,  // 26 Beleginfo - Inhalt 3
    true,  // 27 Beleginfo - Art 4
    true,  // 28 Beleginfo - Inhalt 4
    true,  // 29 Beleginfo - Art 5
    true,  // 30 Beleginfo - Inhalt 5
    true,  // 31 Beleginfo - Art 6
    true,  // 32 Beleginfo - Inhalt 6
    true,  // 33 Beleginfo - Art 7
    true,  // 34 Beleginfo - Inhalt 7
    true,  // 35 Beleginfo - Art 8
    true,  // 36 Beleginfo - Inhalt 8
    true,  // 37 KOST1 - Kostenstelle
    true,  // 38 KOST2 - Kostenstelle
    false, // 39 Kost-Menge
    true,  // 40 EU-Land u. UStID (Bestimmung)
    false, // 41 EU-Steuersatz (Bestimmung)
    true,  // 42 Abw. Versteuerungsart
    false, // 43 Sachverhalt L+L
    false, // 44 Funktionsergänzung L+L
    false, // 45 BU 49 Hauptfunktionstyp
    false, // 46 BU 49 Hauptfunktionsnummer
    false, // 47 BU 49 Funktionsergänzung
    true,  // 48 Zusatzinformation - Art 1
    true,  // 49 Zusatzinformation- Inhalt 1
    true,  // 50 Zusatzinformation - Art 2
    true,  // 51 Zusatzinformation- Inhalt 2
    true,  // 52 Zusatzinformation - Art 3
    true,  // 53 Zusatzinformation- Inhalt 3
    true,  // 54 Zusatzinformation - Art 4
    true,  // 55 Zusatzinformation- Inhalt 4
    true,  // 56 Zusatzinformation - Art 5
    true,  // 57 Zusatzinformation- Inhalt 5
    true,  // 58 Zusatzinformation - Art 6
    true,  // 59 Zusatzinformation- Inhalt 6
    true,  // 60 Zusatzinformation - Art 7
    true,  // 61 Zusatzinformation- Inhalt 7
    true,  // 62 Zusatzinformation - Art 8
    true,  // 63 Zusatzinformation- Inhalt 8
    true,  // 64 Zusatzinformation - Art 9
    true,  // 65 Zusatzinformation- Inhalt 9
    true,  // 66 Zusatzinformation - Art 10
    true,  // 67 Zusatzinformation- Inhalt 10
    true,  // 68 Zusatzinformation - Art 11
    true,  // 69 Zusatzinformation- Inhalt 11
    true,  // 70 Zusatzinformation - Art 12
    true,  // 71 Zusatzinformation- Inhalt 12
    true,  // 72 Zusatzinformation - Art 13
    true,  // 73 Zusatzinformation- Inhalt 13
    true,  // 74 Zusatzinformation - Art 14
    true,  // 75 Zusatzinformation- Inhalt 14
    true,  // 76 Zusatzinformation - Art 15
    true,  // 77 Zusatzinformation- Inhalt 15
    true,  // 78 Zusatzinformation - Art 16
    true,  // 79 Zusatzinformation- Inhalt 16
    true,  // 80 Zusatzinformation - Art 17
    true,  // 81 Zusatzinformation- Inhalt 17
    true,  // 82 Zusatzinformation - Art 18
    true,  // 83 Zusatzinformation- Inhalt 18
    true,  // 84 Zusatzinformation - Art 19
    true,  // 85 Zusatzinformation- Inhalt 19
    true,  // 86 Zusatzinformation - Art 20
    true,  // 87 Zusatzinformation- Inhalt 20
    false, // 88 Stück
    false, // 89 Gewicht
    false, // 90 Zahlweise
    true,  // 91 Forderungsart
    false, // 92 Veranlagungsjahr
    false, // 93 Zugeordnete Fälligkeit
    false, // 94 Skontotyp
    true,  // 95 Auftragsnummer
    true,  // 96 Buchungstyp
    false, // 97 USt-Schlüssel (Anzahlungen)
    true,  // 98 EU-Land (Anzahlungen)
    false, // 99 Sachverhalt L+L (Anzahlungen)
    false, // 100 EU-Steuersatz (Anzahlungen)
    false, // 101 Erlöskonto (Anzahlungen)
    true,  // 102 Herkunft-Kz
    true,  // 103 Buchungs GUID
    false, // 104 KOST-Datum
    true,  // 105 SEPA-Mandatsreferenz
    false, // 106 Skontosperre
    true,  // 107 Gesellschaftername
    false, // 108 Beteiligtennummer
    true,  // 109 Identifikationsnummer
    true,  // 110 Zeichnernummer
    false, // 111 Postensperre bis
    true,  // 112 Bezeichnung SoBil-Sachverhalt
    false, // 113 Kennzeichen SoBil-Buchung
    false, // 114 Festschreibung
    false, // 115 Leistungsdatum
    false, // 116 Datum Zuord. Steuerperiode
    false, // 117 Fälligkeit
    true,  // 118 Generalumkehr (GU)
    false, // 119 Steuersatz
    true,  // 120 Land
    true,  // 121 Abrechnungsreferenz
    false, // 122 BVV-Position
    true,  // 123 EU-Land u. UStID (Ursprung)
    false, // 124 EU-Steuersatz (Ursprung)
    false, // 125 Abw. Skontokonto
];

/// The leading 100 columns of the EXTF Debitoren/Kreditoren file (category 16, format
/// version 5), through Steuernummer, in file order. DATEV reads the columns by position;
/// the later columns (payment terms, dunning, direct debit, …) are optional and not written.
pub const PARTNER_COLUMNS: [&str; 100] = [
    "Konto",
    "Name (Adressattyp Unternehmen)",
    "Unternehmensgegenstand",
    "Name (Adressattyp natürl. Person)",
    "Vorname (Adressattyp natürl. Person)",
    "Name (Adressattyp keine Angabe)",
    "Adressattyp",
    "Kurzbezeichnung",
    "EU-Land",
    "EU-UStID",
    "Anrede",
    "Titel/Akad. Grad",
    "Adelstitel",
    "Namensvorsatz",
    "Adressart",
    "Straße",
    "Postfach",
    "Postleitzahl",
    "Ort",
    "Land",
    "Versandzusatz",
    "Adresszusatz",
    "Abweichende Anrede",
    "Abw. Zustellbezeichnung 1",
    "Abw. Zustellbezeichnung 2",
    "Kennz. Korrespondenzadresse",
    "Adresse Gültig von",
    "Adresse Gültig bis",
    "Telefon",
    "Bemerkung (Telefon)",
    "Telefon GL",
    "Bemerkung (Telefon GL)",
    "E-Mail",
    "Bemerkung (E-Mail)",
    "Internet",
    "Bemerkung (Internet)",
    "Fax",
    "Bemerkung (Fax)",
    "Sonstige",
    "Bemerkung (Sonstige)",
    "Bankleitzahl 1",
    "Bankbezeichnung 1",
    "Bank-Kontonummer 1",
    "Länderkennzeichen 1",
    "IBAN-Nr. 1",
    "Leerfeld",
    "SWIFT-Code 1",
    "Abw. Kontoinhaber 1",
    "Kennz. Hauptbankverb. 1",
    "Bankverb 1 Gültig von",
    "Bankverb 1 Gültig bis",
    "Bankleitzahl 2",
    "Bankbezeichnung 2",
    "Bank-Kontonummer 2",
    "Länderkennzeichen 2",
    "IBAN-Nr. 2",
    "Leerfeld",
    "SWIFT-Code 2",
    "Abw. Kontoinhaber 2",
    "Kennz. Hauptbankverb. 2",
    "Bankverb 2 Gültig von",
    "Bankverb 2 Gültig bis",
    "Bankleitzahl 3",
    "Bankbezeichnung 3",
    "Bank-Kontonummer 3",
    "Länderkennzeichen 3",
    "IBAN-Nr. 3",
    "Leerfeld",
    "SWIFT-Code 3",
    "Abw. Kontoinhaber 3",
    "Kennz. Hauptbankverb. 3",
    "Bankverb 3 Gültig von",
    "Bankverb 3 Gültig bis",
    "Bankleitzahl 4",
    "Bankbezeichnung 4",
    "Bank-Kontonummer 4",
    "Länderkennzeichen 4",
    "IBAN-Nr. 4",
    "Leerfeld",
    "SWIFT-Code 4",
    "Abw. Kontoinhaber 4",
    "Kennz. Hauptbankverb. 4",
    "Bankverb 4 Gültig von",
    "Bankverb 4 Gültig bis",
    "Bankleitzahl 5",
    "Bankbezeichnung 5",
    "Bank-Kontonummer 5",
    "Länderkennzeichen 5",
    "IBAN-Nr. 5",
    "Leerfeld",
    "SWIFT-Code 5",
    "Abw. Kontoinhaber 5",
    "Kennz. Hauptbankverb. 5",
    "Bankverb 5 Gültig von",
    "Bankverb 5 Gültig bis",
    "Leerfeld",
    "Briefanrede",
    "Grußformel",
    "Kunden-/Lief.-Nr.",
    "Steuernummer",
];
