//! The OpenAPI document is valid OpenAPI (checked by openapi-spec-validator, which
//! scripts/test.sh installs from PyPI) and documents what every route can answer.

use crate::common::*;
use reqwest::Method;

#[tokio::test]
async fn the_document_validates_and_documents_the_common_statuses() {
    let app = spawn_app().await;
    let doc = app
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200, None)
        .clone();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("openapi-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the OpenAPI document does not validate (pip install openapi-spec-validator if the module is missing):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&file);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            assert!(responses["500"].is_object(), "{method} {path}: 500");
            if op.get("requestBody").is_some() {
                for status in ["400", "408", "415"] {
                    assert!(responses[status].is_object(), "{method} {path}: {status}");
                }
            }
        }
    }
}
