//! Tesseract as kontor runs it (issue 14): a child process with the image on stdin, killed
//! after KONTOR_OCR_TIMEOUT_SECS; a missing binary or a timeout is `ocr_failed`, never a hang.
//! Needs no database (the pool connects lazily).

use app::inbox::InboxConfig;
use app::{App, AppError};
use std::time::{Duration, Instant};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/einvoices/");

fn app(config: InboxConfig) -> App {
    let pool = store::connect("postgres://nobody@127.0.0.1:1/none", 1).unwrap();
    App::new(store::Store::new(pool, [7; 32])).with_inbox(config)
}

#[tokio::test]
async fn tesseract_reads_the_scan() {
    let app = app(InboxConfig::default());
    let png = std::fs::read(format!("{FIXTURES}scan.png")).unwrap();
    let text = app
        .run_ocr(&png)
        .await
        .expect("tesseract runs (make test installs it)");
    assert!(text.contains("DL-2026-311"), "{text}");
    let x = app.extract_file(png).await.unwrap();
    assert_eq!(x.extraction.source, inbox::Source::Ocr);
    assert_eq!(x.extraction.invoice_number.as_deref(), Some("DL-2026-311"));
    assert!(x.ocr_raw.unwrap().contains("Gesamtbetrag"));
}

#[tokio::test]
async fn a_slow_ocr_is_stopped_at_the_timeout() {
    let dir = std::env::temp_dir().join(format!("kontor-ocr-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("slow-tesseract");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = app(InboxConfig {
        tesseract: script.to_string_lossy().into_owned(),
        ocr_timeout: Duration::from_secs(1),
        ..InboxConfig::default()
    });
    let start = Instant::now();
    let err = app
        .run_ocr(b"\x89PNG\r\n\x1a\nnot really")
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(&err, AppError::Upstream { code: "ocr_failed", message } if message.contains("longer than 1 s")),
        "{err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_missing_tesseract_is_ocr_failed() {
    let app = app(InboxConfig {
        tesseract: "/nonexistent/tesseract".into(),
        ..InboxConfig::default()
    });
    let err = app.run_ocr(b"image").await.unwrap_err();
    assert!(
        matches!(
            err,
            AppError::Upstream {
                code: "ocr_failed",
                ..
            }
        ),
        "{err:?}"
    );
}
