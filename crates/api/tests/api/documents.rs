//! Documents: multipart upload, type and size checks, download and preview, tenant isolation.

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn upload_a_pdf_and_get_it_back() {
    let app = spawn_app().await;
    let content = pdf("invoice 42");
    let res = upload(
        &app,
        content.clone(),
        "Rechnung 2026-0042.pdf",
        "application/pdf",
    )
    .await;
    let body = res.expect(201, None);
    assert_eq!(body["mime_type"], "application/pdf");
    assert_eq!(body["original_name"], "Rechnung 2026-0042.pdf");
    assert_eq!(body["size"], content.len() as i64);
    assert_eq!(body["blake3"], blake3::hash(&content).to_hex().as_str());
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(id.parse::<uuid::Uuid>().unwrap().get_version_num(), 7);

    let res = app.get(&format!("/v1/documents/{id}/file")).await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(res.headers.contains_key("x-request-id"));
    assert_eq!(res.bytes, content);
    assert_eq!(res.headers["content-type"], "application/pdf");
    let cd = res.headers["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"Rechnung 2026-0042.pdf\""),
        "{cd}"
    );

    let res = app.get(&format!("/v1/documents/{id}/preview")).await;
    assert_eq!(res.status.as_u16(), 200);
    assert_eq!(res.bytes, content);
    let cd = res.headers["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("inline; filename=\"Rechnung 2026-0042.pdf\""),
        "{cd}"
    );
    assert_eq!(res.headers["x-content-type-options"], "nosniff");

    let res = app.get(&format!("/v1/documents/{id}")).await;
    let meta = res.expect(200, None);
    assert_eq!(
        (meta["id"].as_str(), meta["original_name"].as_str()),
        (Some(id.as_str()), Some("Rechnung 2026-0042.pdf"))
    );
}

#[tokio::test]
async fn names_are_cleaned_and_other_types_are_kept() {
    let app = spawn_app().await;
    let res = upload(&app, pdf("a"), "../../etc/Beleg.pdf", "application/pdf").await;
    assert_eq!(res.expect(201, None)["original_name"], "Beleg.pdf");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let res = upload(&app, png, "scan.png", "image/png").await;
    assert_eq!(res.expect(201, None)["mime_type"], "image/png");
    let xml = b"<?xml version=\"1.0\"?><Invoice/>".to_vec();
    let res = upload(&app, xml, "x-rechnung.xml", "text/xml").await;
    assert_eq!(res.expect(201, None)["mime_type"], "application/xml");
    // The client's type may be generic; the content decides.
    let res = upload(&app, pdf("b"), "b.pdf", "application/octet-stream").await;
    assert_eq!(res.expect(201, None)["mime_type"], "application/pdf");
    // The same content twice: two documents, one content hash.
    let a = upload(&app, pdf("same"), "1.pdf", "application/pdf").await;
    let b = upload(&app, pdf("same"), "2.pdf", "application/pdf").await;
    assert_ne!(a.expect(201, None)["id"], b.expect(201, None)["id"]);
    assert_eq!(a.body["blake3"], b.body["blake3"]);
    let res = app
        .get(&format!(
            "/v1/documents/{}/file",
            b.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.bytes, pdf("same"));
    assert!(res.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename=\"2.pdf\""));
}

#[tokio::test]
async fn an_executable_is_refused() {
    let app = spawn_app().await;
    let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    exe.extend_from_slice(&[0u8; 64]);
    let res = upload(&app, exe.clone(), "invoice.pdf", "application/pdf").await;
    res.expect(415, Some("unsupported_media_type"));
    let res = upload(&app, exe, "tool.exe", "application/x-msdownload").await;
    res.expect(415, Some("unsupported_media_type"));
    let res = upload(&app, b"just some text".to_vec(), "note.txt", "text/plain").await;
    res.expect(415, Some("unsupported_media_type"));
}

#[tokio::test]
async fn a_mismatched_part_content_type_is_refused() {
    let app = spawn_app().await;
    let res = upload(&app, pdf("x"), "x.png", "image/png").await;
    res.expect(400, Some("content_type_mismatch"));
    assert_eq!(field_errors(&res.body), ["file"]);
}

#[tokio::test]
async fn a_too_large_document_is_refused() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            max_document_bytes: 1024,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let mut big = pdf("big");
    big.resize(4096, b' ');
    let res = upload(&app, big, "big.pdf", "application/pdf").await;
    res.expect(413, Some("payload_too_large"));
    let mut fits = pdf("fits");
    fits.resize(1024, b' ');
    upload(&app, fits, "fits.pdf", "application/pdf")
        .await
        .expect(201, None);
}

#[tokio::test]
async fn missing_file_part_and_non_multipart_bodies() {
    let app = spawn_app().await;
    let key = app.tenant.key.clone();
    // A part with another name.
    let res = upload_part(
        &app,
        Some(&key),
        "document",
        pdf("x"),
        "x.pdf",
        "application/pdf",
    )
    .await;
    res.expect(400, Some("unknown_field"));
    // Only a text field.
    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let res = app
        .client
        .post(format!("{}/v1/documents", app.address))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await;
    let res = into_res(res.unwrap()).await;
    res.expect(400, Some("unknown_field"));
    assert_eq!(field_errors(&res.body), ["note"]);
    // No part at all (RFC 2046 needs at least one), an empty or a broken multipart body.
    let ct = "multipart/form-data; boundary=XyZ";
    let res = app
        .raw(
            Method::POST,
            "/v1/documents",
            Some(&key),
            ct,
            b"--XyZ--\r\n".to_vec(),
        )
        .await;
    res.expect(400, Some("malformed_multipart"));
    let res = app
        .raw(Method::POST, "/v1/documents", Some(&key), ct, Vec::new())
        .await;
    res.expect(400, Some("malformed_multipart"));
    let res = app
        .raw(
            Method::POST,
            "/v1/documents",
            Some(&key),
            ct,
            b"--XyZ\r\nContent-Disp".to_vec(),
        )
        .await;
    res.expect(400, Some("malformed_multipart"));
    // An empty file.
    let res = upload(&app, Vec::new(), "empty.pdf", "application/pdf").await;
    res.expect(400, Some("empty_file"));
    // Not multipart.
    let res = app
        .raw(
            Method::POST,
            "/v1/documents",
            Some(&key),
            "application/pdf",
            pdf("raw"),
        )
        .await;
    res.expect(415, Some("unsupported_media_type"));
    let res = app
        .post("/v1/documents", json!({"file": "JVBERi0xLjQ="}))
        .await;
    res.expect(415, Some("unsupported_media_type"));
}

#[tokio::test]
async fn another_tenants_document_is_not_found() {
    let app = spawn_app().await;
    let other = as_tenant(&app, app.other_tenant().await);
    let id = upload_pdf(&other, "theirs.pdf").await;
    for suffix in ["", "/file", "/preview"] {
        app.get(&format!("/v1/documents/{id}{suffix}"))
            .await
            .expect(404, Some("not_found"));
        let res = other.get(&format!("/v1/documents/{id}{suffix}")).await;
        assert_eq!(res.status.as_u16(), 200, "{suffix}");
        app.get(&format!("/v1/documents/not-a-uuid{suffix}"))
            .await
            .expect(404, Some("not_found"));
        app.get(&format!("/v1/documents/{}{suffix}", uuid::Uuid::now_v7()))
            .await
            .expect(404, Some("not_found"));
    }
}

#[tokio::test]
async fn a_booking_can_name_its_document() {
    let app = spawn_app().await;
    let id = upload_pdf(&app, "beleg.pdf").await;
    let intent = app
        .book_ok(with(
            transfer("2026-03-14", "4930", "1200", "9.99"),
            "document_id",
            json!(id),
        ))
        .await;
    let res = app.get(&format!("/v1/journal/{intent}")).await;
    assert_eq!(res.expect(200, None)["metadata"]["document_id"], json!(id));
    let events = sql()
        .await
        .query(
            "SELECT payload->>'document_id' FROM journal_events WHERE tenant_id = $1 ORDER BY seq",
            &[&app.tenant.id],
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|r| r.get::<_, Option<String>>(0).as_deref() == Some(id.as_str())));
}
