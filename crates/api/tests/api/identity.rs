//! Identity and access (issue 4): every way in that must stay shut, and the ways that must work.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

/// A user of the app's tenant with a password; returns (user id, email).
async fn user(app: &TestApp, role: &str) -> (Uuid, String) {
    let email = format!("{}-{}@acme.test", role, Uuid::now_v7().simple());
    let member = app
        .store
        .invite_user(app.tenant.id, &email, "Anna Test", role)
        .await
        .unwrap();
    let hash = api::passwords::hash_blocking(PASSWORD).unwrap();
    app.store.set_password(member.id, &hash).await.unwrap();
    (member.id, email)
}

async fn login(app: &TestApp, email: &str, password: &str) -> Res {
    app.send(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
    )
    .await
}

async fn session(app: &TestApp, role: &str) -> (Uuid, String) {
    let (id, email) = user(app, role).await;
    let res = login(app, &email, PASSWORD).await;
    let token = res.expect(200, None)["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ks_"));
    (id, token)
}

/// The newest mail in the app's mail folder.
fn last_mail(app: &TestApp) -> String {
    let mut files: Vec<_> = std::fs::read_dir(&app.mail_dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).unwrap());
    let path = files.last().expect("a mail was written");
    std::fs::read_to_string(path).unwrap()
}

fn mail_count(app: &TestApp) -> usize {
    std::fs::read_dir(&app.mail_dir)
        .map(|d| d.count())
        .unwrap_or(0)
}

fn token_in(mail: &str) -> String {
    // Quoted-printable may wrap lines; the token is the 48 hex characters after "token=".
    let flat = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = flat.find("token=").expect("token in mail") + "token=".len();
    flat[at..at + 48].to_string()
}

#[tokio::test]
async fn login_gives_a_session_that_works_like_a_key() {
    let app = spawn_app().await;
    let (id, email) = user(&app, "accountant").await;
    let res = login(&app, &email.to_uppercase(), PASSWORD).await;
    let body = res.expect(200, None);
    assert_eq!(body["user"]["id"], id.to_string());
    assert_eq!(body["user"]["tenants"][0]["role"], "accountant");
    assert!(body["expires_at"].as_str().is_some());
    let token = body["token"].as_str().unwrap();
    app.send(Method::GET, "/v1/accounts", Some(token), None)
        .await
        .expect(200, None);
    let res = app
        .send(
            Method::POST,
            "/v1/bookings",
            Some(token),
            Some(&sale("2026-03-14", "10.00", "11.90")),
        )
        .await;
    let intent = res.expect(201, None)["intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The journal records the user as the cause.
    let res = app.get(&format!("/v1/journal/{intent}")).await;
    assert_eq!(
        res.expect(200, None)["metadata"]["created_by"],
        json!({"kind": "user", "id": id.to_string()})
    );
    let me = app
        .send(Method::GET, "/v1/auth/me", Some(token), None)
        .await;
    assert_eq!(me.expect(200, None)["email"], email.as_str());

    // Logout ends it at once.
    app.send(Method::POST, "/v1/auth/logout", Some(token), None)
        .await
        .expect(200, None);
    app.send(Method::GET, "/v1/accounts", Some(token), None)
        .await
        .expect(401, Some("unauthenticated"));
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_expired_sessions_are_refused() {
    let app = spawn_app().await;
    let (id, email) = user(&app, "viewer").await;
    login(&app, &email, "not the password at all")
        .await
        .expect(401, Some("invalid_credentials"));
    login(&app, "nobody@nowhere.test", PASSWORD)
        .await
        .expect(401, Some("invalid_credentials"));
    app.send(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(&json!({"email": email})),
    )
    .await
    .expect(400, Some("invalid_field"));
    // An expired session, a made-up one and garbage.
    let (token, _) = app
        .store
        .create_session(id, chrono::Duration::seconds(-1))
        .await
        .unwrap();
    app.send(Method::GET, "/v1/accounts", Some(&token), None)
        .await
        .expect(401, Some("unauthenticated"));
    let fake = format!("ks_{}", "ab".repeat(24));
    app.send(Method::GET, "/v1/accounts", Some(&fake), None)
        .await
        .expect(401, Some("unauthenticated"));
    app.send(Method::GET, "/v1/accounts", Some("hello"), None)
        .await
        .expect(401, Some("unauthenticated"));
    // A deactivated user cannot log in.
    let owner = session(&app, "owner").await.1;
    app.send(
        Method::DELETE,
        &format!("/v1/users/{id}"),
        Some(&owner),
        None,
    )
    .await
    .expect(200, None);
    login(&app, &email, PASSWORD)
        .await
        .expect(401, Some("invalid_credentials"));
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_account() {
    let app = spawn_app().await;
    let (_, email) = user(&app, "viewer").await;
    for _ in 0..5 {
        login(&app, &email, "wrong wrong wrong")
            .await
            .expect(401, Some("invalid_credentials"));
    }
    // Even the right password waits now.
    let res = login(&app, &email, PASSWORD).await;
    res.expect(429, Some("too_many_attempts"));
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    // Another account from the same address is not locked by it.
    let (_, other) = user(&app, "viewer").await;
    login(&app, &other, PASSWORD).await.expect(200, None);
}

#[tokio::test]
async fn roles_decide_what_a_session_may_do() {
    let app = spawn_app().await;
    let viewer = session(&app, "viewer").await.1;
    let auditor = session(&app, "auditor").await.1;
    let accountant = session(&app, "accountant").await.1;
    let booking = sale("2026-03-14", "10.00", "11.90");

    app.send(Method::GET, "/v1/journal", Some(&viewer), None)
        .await
        .expect(200, None);
    app.send(Method::POST, "/v1/bookings", Some(&viewer), Some(&booking))
        .await
        .expect(403, Some("role_forbidden"));
    app.send(Method::GET, "/v1/audit/events", Some(&viewer), None)
        .await
        .expect(403, Some("role_forbidden"));

    app.send(Method::GET, "/v1/audit/events", Some(&auditor), None)
        .await
        .expect(200, None);
    app.send(Method::POST, "/v1/bookings", Some(&auditor), Some(&booking))
        .await
        .expect(403, Some("role_forbidden"));
    app.send(
        Method::POST,
        "/v1/periods/2026-01/soft-lock",
        Some(&auditor),
        None,
    )
    .await
    .expect(403, Some("role_forbidden"));

    app.send(
        Method::POST,
        "/v1/bookings",
        Some(&accountant),
        Some(&booking),
    )
    .await
    .expect(201, None);
    app.send(
        Method::POST,
        "/v1/periods/2026-01/lock",
        Some(&accountant),
        None,
    )
    .await
    .expect(201, None);
    // Only owners manage keys and users.
    for (method, path) in [(Method::GET, "/v1/api-keys"), (Method::GET, "/v1/users")] {
        for token in [&viewer, &auditor, &accountant] {
            app.send(method.clone(), path, Some(token), None)
                .await
                .expect(403, Some("role_forbidden"));
        }
    }
    app.send(
        Method::POST,
        "/v1/api-keys",
        Some(&accountant),
        Some(&json!({"name": "x"})),
    )
    .await
    .expect(403, Some("role_forbidden"));
}

#[tokio::test]
async fn api_keys_never_manage_keys_or_users_even_an_owners_full_scope_key() {
    let app = spawn_app().await;
    let key = app.tenant.key.clone();
    for (method, path, body) in [
        (Method::GET, "/v1/api-keys", None),
        (Method::POST, "/v1/api-keys", Some(json!({"name": "x"}))),
        (
            Method::DELETE,
            &format!("/v1/api-keys/{}", Uuid::now_v7()) as &str,
            None,
        ),
        (Method::GET, "/v1/users", None),
        (
            Method::POST,
            "/v1/users",
            Some(json!({"email": "a@b.test", "name": "A", "role": "viewer"})),
        ),
        (
            Method::PATCH,
            &format!("/v1/users/{}", Uuid::now_v7()) as &str,
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::DELETE,
            &format!("/v1/users/{}", Uuid::now_v7()) as &str,
            None,
        ),
    ] {
        let res = app.send(method, path, Some(&key), body.as_ref()).await;
        res.expect(403, Some("owner_session_required"));
    }
    // Without credentials: 401.
    app.send(Method::GET, "/v1/api-keys", None, None)
        .await
        .expect(401, Some("unauthenticated"));
    app.send(Method::GET, "/v1/users", None, None)
        .await
        .expect(401, Some("unauthenticated"));
}

#[tokio::test]
async fn owners_create_list_and_revoke_keys() {
    let app = spawn_app().await;
    let owner = session(&app, "owner").await.1;
    let res = app
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(&owner),
            Some(&json!({"name": "Shop", "scopes": ["journal:read"]})),
        )
        .await;
    let created = res.expect(201, None).clone();
    assert_eq!(created["tier"], "starter");
    assert_eq!(created["scopes"], json!(["journal:read"]));
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("kt_") && key.contains(created["prefix"].as_str().unwrap()));
    // The key works within its scope only.
    app.send(Method::GET, "/v1/journal", Some(&key), None)
        .await
        .expect(200, None);
    app.send(
        Method::POST,
        "/v1/bookings",
        Some(&key),
        Some(&sale("2026-03-14", "1.00", "1.19")),
    )
    .await
    .expect(403, Some("scope_missing"));
    // Listed without its secret.
    let list = app
        .send(Method::GET, "/v1/api-keys", Some(&owner), None)
        .await;
    let list = list.expect(200, None).as_array().unwrap().clone();
    let listed = list.iter().find(|k| k["id"] == created["id"]).unwrap();
    assert!(listed.get("key").is_none());
    assert!(!list.iter().any(|k| k.to_string().contains(&key)));
    // Bad input.
    for (body, code) in [
        (json!({"name": ""}), "invalid_name"),
        (
            json!({"name": "x", "scopes": ["journal:delete"]}),
            "invalid_scope",
        ),
        (json!({"name": "x", "tier": "unlimited"}), "invalid_tier"),
        (json!({"name": "x", "colour": "red"}), "unknown_field"),
    ] {
        app.send(Method::POST, "/v1/api-keys", Some(&owner), Some(&body))
            .await
            .expect(400, Some(code));
    }
    // Revoked: refused at once.
    let path = format!("/v1/api-keys/{}", created["id"].as_str().unwrap());
    let res = app.send(Method::DELETE, &path, Some(&owner), None).await;
    assert!(res.expect(200, None)["revoked_at"].as_str().is_some());
    app.send(Method::GET, "/v1/journal", Some(&key), None)
        .await
        .expect(401, Some("unauthenticated"));
    // Another tenant's key id is not found.
    let other = app.other_tenant().await;
    let theirs = app.store.list_api_keys(other.id).await.unwrap()[0].id;
    app.send(
        Method::DELETE,
        &format!("/v1/api-keys/{theirs}"),
        Some(&owner),
        None,
    )
    .await
    .expect(404, Some("not_found"));
}

#[tokio::test]
async fn invited_users_set_their_password_once() {
    let app = spawn_app().await;
    let owner = session(&app, "owner").await.1;
    let email = format!("invitee-{}@acme.test", Uuid::now_v7().simple());
    let res = app
        .send(
            Method::POST,
            "/v1/users",
            Some(&owner),
            Some(&json!({"email": email, "name": "Ina Vite", "role": "accountant"})),
        )
        .await;
    let invited = res.expect(201, None).clone();
    assert_eq!(invited["has_password"], false);
    assert_eq!(invited["role"], "accountant");
    let mail = last_mail(&app);
    assert!(mail.contains(&email));
    let token = token_in(&mail);
    // No password yet: no login.
    login(&app, &email, PASSWORD)
        .await
        .expect(401, Some("invalid_credentials"));
    let setup = |password: &str| json!({"token": token, "password": password});
    app.send(
        Method::POST,
        "/v1/auth/setup-password",
        None,
        Some(&setup("short")),
    )
    .await
    .expect(400, Some("weak_password"));
    app.send(
        Method::POST,
        "/v1/auth/setup-password",
        None,
        Some(&setup(PASSWORD)),
    )
    .await
    .expect(200, None);
    login(&app, &email, PASSWORD).await.expect(200, None);
    // The token is single-use.
    app.send(
        Method::POST,
        "/v1/auth/setup-password",
        None,
        Some(&setup("another fine password")),
    )
    .await
    .expect(400, Some("invalid_token"));
    // Inviting the same address again is a conflict; bad input is refused.
    let again = json!({"email": email, "name": "Ina", "role": "viewer"});
    app.send(Method::POST, "/v1/users", Some(&owner), Some(&again))
        .await
        .expect(409, Some("user_exists"));
    let bad = json!({"email": "not-an-email", "name": "X", "role": "viewer"});
    app.send(Method::POST, "/v1/users", Some(&owner), Some(&bad))
        .await
        .expect(400, Some("invalid_email"));
    let bad = json!({"email": "x@y.test", "name": "X", "role": "admin"});
    app.send(Method::POST, "/v1/users", Some(&owner), Some(&bad))
        .await
        .expect(400, Some("invalid_role"));
}

#[tokio::test]
async fn password_reset_answers_the_same_for_unknown_addresses() {
    let app = spawn_app().await;
    let (_, email) = user(&app, "viewer").await;
    let before = mail_count(&app);
    let unknown = app
        .send(
            Method::POST,
            "/v1/auth/forgot-password",
            None,
            Some(&json!({"email": "ghost@acme.test"})),
        )
        .await;
    let known = app
        .send(
            Method::POST,
            "/v1/auth/forgot-password",
            None,
            Some(&json!({"email": email})),
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 202);
    assert_eq!(known.status.as_u16(), 202);
    assert_eq!(unknown.body, known.body);
    // The mail is sent in the background.
    for _ in 0..100 {
        if mail_count(&app) > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        mail_count(&app),
        before + 1,
        "exactly one mail, for the known address"
    );
    let mail = last_mail(&app);
    assert!(mail.contains(&email));
    let token = token_in(&mail);
    let (_, old_session) = {
        let res = login(&app, &email, PASSWORD).await;
        (
            (),
            res.expect(200, None)["token"].as_str().unwrap().to_string(),
        )
    };
    let new_password = "a completely new passphrase";
    app.send(
        Method::POST,
        "/v1/auth/setup-password",
        None,
        Some(&json!({"token": token, "password": new_password})),
    )
    .await
    .expect(200, None);
    login(&app, &email, PASSWORD)
        .await
        .expect(401, Some("invalid_credentials"));
    login(&app, &email, new_password).await.expect(200, None);
    // The reset ended the sessions that existed before it; the token cannot be replayed.
    app.send(Method::GET, "/v1/accounts", Some(&old_session), None)
        .await
        .expect(401, Some("unauthenticated"));
    app.send(
        Method::POST,
        "/v1/auth/setup-password",
        None,
        Some(&json!({"token": token, "password": "yet another passphrase"})),
    )
    .await
    .expect(400, Some("invalid_token"));
}

#[tokio::test]
async fn owners_change_roles_and_deactivation_ends_sessions_at_once() {
    let app = spawn_app().await;
    let (owner_id, owner) = session(&app, "owner").await;
    let (id, token) = session(&app, "accountant").await;
    let path = format!("/v1/users/{id}");
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(res.expect(200, None)["role"], "viewer");
    app.send(
        Method::POST,
        "/v1/bookings",
        Some(&token),
        Some(&sale("2026-03-14", "1.00", "1.19")),
    )
    .await
    .expect(403, Some("role_forbidden"));
    let list = app.send(Method::GET, "/v1/users", Some(&owner), None).await;
    assert!(list.expect(200, None).as_array().unwrap().len() >= 2);
    app.send(Method::DELETE, &path, Some(&owner), None)
        .await
        .expect(200, None);
    app.send(Method::GET, "/v1/journal", Some(&token), None)
        .await
        .expect(401, Some("unauthenticated"));
    // The last owner stays.
    let own = format!("/v1/users/{owner_id}");
    app.send(
        Method::PATCH,
        &own,
        Some(&owner),
        Some(&json!({"role": "viewer"})),
    )
    .await
    .expect(409, Some("last_owner"));
    app.send(Method::DELETE, &own, Some(&owner), None)
        .await
        .expect(409, Some("last_owner"));
    // Another tenant's user is not found; bad bodies are refused.
    let other = app.other_tenant().await;
    let stranger = app
        .store
        .invite_user(other.id, "stranger@else.test", "S", "viewer")
        .await
        .unwrap();
    app.send(
        Method::PATCH,
        &format!("/v1/users/{}", stranger.id),
        Some(&owner),
        Some(&json!({"role": "viewer"})),
    )
    .await
    .expect(404, Some("not_found"));
    app.send(
        Method::DELETE,
        &format!("/v1/users/{}", stranger.id),
        Some(&owner),
        None,
    )
    .await
    .expect(404, Some("not_found"));
    app.send(Method::PATCH, &own, Some(&owner), Some(&json!({"role": 7})))
        .await
        .expect(400, Some("invalid_field"));
}

#[tokio::test]
async fn a_user_of_several_tenants_chooses_one_with_x_tenant_slug() {
    let app = spawn_app().await;
    let (id, token) = session(&app, "accountant").await;
    let email = app.store.user_by_id(id).await.unwrap().email;
    let other = app.other_tenant().await;
    app.store
        .invite_user(other.id, &email, "Anna", "viewer")
        .await
        .unwrap();
    let get = |slug: Option<&str>| {
        let mut req = app
            .client
            .get(format!("{}/v1/journal", app.address))
            .bearer_auth(&token);
        if let Some(s) = slug {
            req = req.header("x-tenant-slug", s);
        }
        req.send()
    };
    let res = get(None).await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "tenant_required"
    );
    assert_eq!(
        get(Some(&app.tenant.slug)).await.unwrap().status().as_u16(),
        200
    );
    assert_eq!(get(Some(&other.slug)).await.unwrap().status().as_u16(), 200);
    let res = get(Some("no-such-tenant")).await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    // In the other tenant the user is a viewer.
    let res = app
        .client
        .post(format!("{}/v1/bookings", app.address))
        .bearer_auth(&token)
        .header("x-tenant-slug", &other.slug)
        .json(&sale("2026-03-14", "1.00", "1.19"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn rate_limits_follow_the_key_tier() {
    let mut config = api::ApiConfig {
        workers: 1,
        ..Default::default()
    };
    config.rate_limits =
        api::guard::RateLimits::parse("starter=3/3600,professional=10/3600").unwrap();
    let app = spawn_app_with(config, "skr03").await;
    let scopes = vec!["*".to_string()];
    let (_, key) = app
        .store
        .create_api_key(app.tenant.id, "s", &scopes, "starter", None)
        .await
        .unwrap();
    for remaining in [2, 1, 0] {
        let res = app
            .send(Method::GET, "/v1/accounts", Some(&key), None)
            .await;
        res.expect(200, None);
        assert_eq!(res.headers["x-ratelimit-limit"], "3");
        assert_eq!(
            res.headers["x-ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        assert_eq!(res.headers["x-ratelimit-tier"], "starter");
        assert!(
            res.headers["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
                > chrono::Utc::now().timestamp()
        );
    }
    let res = app
        .send(Method::GET, "/v1/accounts", Some(&key), None)
        .await;
    res.expect(429, Some("rate_limited"));
    // Counted in /metrics by limit and tier.
    let metrics = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l
            .starts_with(r#"kontor_rate_limit_refusals_total{limit="api_key",tier="starter"} "#)),
        "{metrics}"
    );
    assert!(
        res.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(res.headers["x-ratelimit-remaining"], "0");
    // The unlimited admin key has no limit headers.
    let res = app.get("/v1/accounts").await;
    res.expect(200, None);
    assert!(!res.headers.contains_key("x-ratelimit-limit"));
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response() {
    let app = spawn_app().await;
    let body = sale("2026-03-14", "100.00", "119.00");
    let post = |key: &'static str, body: Value| {
        app.client
            .post(format!("{}/v1/bookings", app.address))
            .bearer_auth(&app.tenant.key)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = post("order-42", body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post("order-42", body.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.balance("1400").await, "119.00");
    // Same key, another body.
    let other = post("order-42", sale("2026-03-14", "1.00", "1.19"))
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 409);
    assert_eq!(
        other.json::<Value>().await.unwrap()["code"],
        "idempotency_conflict"
    );
    // A refused request is replayed as refused too.
    let bad = json!({"booking_date": "2026-03-14", "description": "x", "lines": []});
    assert_eq!(
        post("bad-1", bad.clone()).await.unwrap().status().as_u16(),
        400
    );
    assert_eq!(post("bad-1", bad).await.unwrap().status().as_u16(), 400);
    // Keys are per tenant: another tenant may use the same key.
    let stranger = app.other_tenant().await;
    let res = app
        .client
        .post(format!("{}/v1/bookings", app.address))
        .bearer_auth(&stranger.key)
        .header("idempotency-key", "order-42")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert_ne!(
        res.json::<Value>().await.unwrap()["intent_id"],
        first["intent_id"]
    );
    // A malformed key.
    let res = app
        .client
        .post(format!("{}/v1/bookings", app.address))
        .bearer_auth(&app.tenant.key)
        .header("idempotency-key", "x".repeat(300))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

#[tokio::test]
async fn twenty_concurrent_identical_requests_create_exactly_one_booking() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 2,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let body = sale("2026-03-14", "100.00", "119.00");
    let requests = (0..20).map(|_| {
        app.client
            .post(format!("{}/v1/bookings", app.address))
            .bearer_auth(&app.tenant.key)
            .header("idempotency-key", "same-click")
            .json(&body)
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = std::collections::BTreeSet::new();
    for r in responses {
        let r = r.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        ids.insert(
            r.json::<Value>().await.unwrap()["intent_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(ids.len(), 1, "one booking, replayed to every request");
    assert_eq!(app.balance("1400").await, "119.00");
    let journal = app.get("/v1/journal").await;
    assert_eq!(journal.expect(200, None)["total"], 3);
}

#[tokio::test]
async fn the_contact_form_is_public_guarded_and_stored() {
    let app = spawn_app().await;
    let marker = Uuid::now_v7().to_string();
    let msg = |extra: Value| {
        let mut m = json!({"name": "Lea", "email": "lea@example.test", "message": format!("Hallo {marker}")});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        m
    };
    app.send(Method::POST, "/v1/contact", None, Some(&msg(json!({}))))
        .await
        .expect(200, None);
    // A bot filling the honeypot gets the same answer, nothing is stored.
    let res = app
        .send(
            Method::POST,
            "/v1/contact",
            None,
            Some(&msg(json!({"_honeypot": "http://spam"}))),
        )
        .await;
    assert_eq!(res.expect(200, None)["ok"], true);
    let db = app.store.client().await.unwrap();
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM contact_messages WHERE message = $1",
            &[&format!("Hallo {marker}")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    app.send(
        Method::POST,
        "/v1/contact",
        None,
        Some(&msg(json!({"email": "nope"}))),
    )
    .await
    .expect(400, Some("invalid_email"));
    app.send(
        Method::POST,
        "/v1/contact",
        None,
        Some(&msg(json!({"phone": "1"}))),
    )
    .await
    .expect(400, Some("unknown_field"));
    app.raw(
        Method::POST,
        "/v1/contact",
        None,
        "text/plain",
        b"hi".to_vec(),
    )
    .await
    .expect(415, Some("unsupported_media_type"));
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_address_too() {
    let config = api::ApiConfig {
        workers: 1,
        login_failures_per_address: 3,
        trust_forwarded_for: true,
        ..Default::default()
    };
    let app = spawn_app_with(config, "skr03").await;
    let address = format!("203.0.113.{}", rand::random::<u8>());
    let attempt = |email: String, password: &'static str, from: String| {
        app.client
            .post(format!("{}/v1/auth/login", app.address))
            .header("x-forwarded-for", format!("10.0.0.1, {from}"))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    // Three different accounts fail from one address.
    for _ in 0..3 {
        let (_, email) = user(&app, "viewer").await;
        let res = attempt(email, "wrong wrong wrong", address.clone())
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
    }
    let (_, email) = user(&app, "viewer").await;
    let res = attempt(email.clone(), PASSWORD, address.clone())
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // The same account from another address is fine.
    let res = attempt(email, PASSWORD, "198.51.100.7".into())
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn text_with_u0000_is_refused_as_input_not_a_server_error() {
    let app = spawn_app().await;
    let body = json!({"booking_date": "2026-03-14", "description": "a\u{0}b",
        "lines": [{"account": "1400", "debit": "1.00"}, {"account": "8400", "credit": "1.00"}]});
    let res = app.post("/v1/bookings", body).await;
    res.expect(400, Some("invalid_character"));
    assert!(res.body["details"]["field_errors"]["description"].is_array());
}

#[tokio::test]
async fn public_forms_are_limited_per_client_address() {
    let config = api::ApiConfig {
        workers: 1,
        public_requests_per_address_per_hour: 2,
        trust_forwarded_for: true,
        ..Default::default()
    };
    let app = spawn_app_with(config, "skr03").await;
    let address = format!("192.0.2.{}", rand::random::<u8>());
    let contact = || {
        app.client
            .post(format!("{}/v1/contact", app.address))
            .header("x-forwarded-for", &address)
            .json(&json!({"name": "Lea", "email": "lea@example.test", "message": "Hallo"}))
            .send()
    };
    assert_eq!(contact().await.unwrap().status().as_u16(), 200);
    assert_eq!(contact().await.unwrap().status().as_u16(), 200);
    let res = contact().await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let forgot = || {
        app.client
            .post(format!("{}/v1/auth/forgot-password", app.address))
            .header("x-forwarded-for", &address)
            .json(&json!({"email": "x@example.test"}))
            .send()
    };
    assert_eq!(forgot().await.unwrap().status().as_u16(), 202);
    assert_eq!(forgot().await.unwrap().status().as_u16(), 202);
    assert_eq!(forgot().await.unwrap().status().as_u16(), 429);
}

#[tokio::test]
async fn expired_keys_are_refused_and_expiry_must_lie_ahead() {
    let app = spawn_app().await;
    let owner = session(&app, "owner").await.1;
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    app.send(
        Method::POST,
        "/v1/api-keys",
        Some(&owner),
        Some(&json!({"name": "old", "expires_at": past})),
    )
    .await
    .expect(400, Some("invalid_expiry"));
    let soon = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let res = app
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(&owner),
            Some(&json!({"name": "month", "expires_at": soon})),
        )
        .await;
    let created = res.expect(201, None).clone();
    assert!(created["expires_at"].as_str().is_some());
    let key = created["key"].as_str().unwrap();
    app.send(Method::GET, "/v1/accounts", Some(key), None)
        .await
        .expect(200, None);
    // A key whose time has run out (set in the database, as time passing would).
    let scopes = vec!["*".to_string()];
    let expired_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (_, expired) = app
        .store
        .create_api_key_expiring(
            app.tenant.id,
            "expired",
            &scopes,
            "unlimited",
            None,
            Some(expired_at),
        )
        .await
        .unwrap();
    app.send(Method::GET, "/v1/accounts", Some(&expired), None)
        .await
        .expect(401, Some("unauthenticated"));
}
