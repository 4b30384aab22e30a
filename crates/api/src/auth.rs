//! Authentication (API keys) and scopes.
//!
//! `Authorization: Bearer kt_…`. A verified key is cached for `AUTH_CACHE_TTL` keyed by the
//! blake3 hash of the presented token (never the token itself), so a busy client does not cost a
//! database round trip per request; a revoked key therefore stops working within that time.

use crate::error::ApiError;
use crate::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use journal::Actor;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::keys::KeyPrincipal;
use uuid::Uuid;

pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(5);
const AUTH_CACHE_MAX: usize = 10_000;
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Resources that scopes name; `resource:read` allows GET/HEAD, `resource:write` the rest,
/// `resource:*` both, `*` everything. `periods:lock` is needed to request or approve a lock.
pub const RESOURCES: &[&str] = &[
    "accounts", "journal", "tax_codes", "documents", "periods", "audit", "bank", "payments", "reports",
    "customers", "vendors", "invoices",
];

/// Checks a scope list for `kontor admin create-api-key` and the key endpoints.
pub fn validate_scopes(scopes: &[String]) -> Result<(), String> {
    if scopes.is_empty() {
        return Err("at least one scope is needed".into());
    }
    for s in scopes {
        if s == "*" {
            continue;
        }
        let ok = match s.split_once(':') {
            Some((resource, action)) => {
                RESOURCES.contains(&resource)
                    && (matches!(action, "read" | "write" | "*") || (resource == "periods" && action == "lock"))
            }
            None => false,
        };
        if !ok {
            return Err(format!(
                "unknown scope {s:?}: use \"*\" or resource:read|write|* with resource one of {}",
                RESOURCES.join(", ")
            ));
        }
    }
    Ok(())
}

/// Whoever made the request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub actor: Actor,
    pub key_id: Uuid,
    pub scopes: Vec<String>,
    pub tier: String,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        let resource = scope.split(':').next().unwrap_or(scope);
        self.scopes
            .iter()
            .any(|s| s == "*" || s == scope || (s.strip_suffix(":*") == Some(resource)))
    }

    /// 403 `scope_missing` unless the key carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden("scope_missing", format!("This API key lacks the scope {scope}"))
                .with_field("scope", scope.to_string()))
        }
    }
}

#[derive(Default)]
pub struct AuthCache {
    keys: Mutex<HashMap<[u8; 32], (KeyPrincipal, Instant)>>,
    touched: Mutex<HashMap<Uuid, Instant>>,
}

impl AuthCache {
    fn get(&self, token_hash: &[u8; 32]) -> Option<KeyPrincipal> {
        let keys = self.keys.lock().expect("auth cache");
        keys.get(token_hash)
            .filter(|(_, at)| at.elapsed() < AUTH_CACHE_TTL)
            .map(|(p, _)| p.clone())
    }

    fn put(&self, token_hash: [u8; 32], p: KeyPrincipal) {
        let mut keys = self.keys.lock().expect("auth cache");
        if keys.len() >= AUTH_CACHE_MAX {
            keys.retain(|_, (_, at)| at.elapsed() < AUTH_CACHE_TTL);
            if keys.len() >= AUTH_CACHE_MAX {
                keys.clear();
            }
        }
        keys.insert(token_hash, (p, Instant::now()));
    }

    /// Forgets every cached key of a tenant (after a key of it is revoked here).
    pub fn forget_tenant(&self, tenant_id: Uuid) {
        self.keys.lock().expect("auth cache").retain(|_, (p, _)| p.tenant_id != tenant_id);
    }

    fn should_touch(&self, key_id: Uuid) -> bool {
        let mut touched = self.touched.lock().expect("auth cache");
        match touched.get(&key_id) {
            Some(at) if at.elapsed() < TOUCH_EVERY => false,
            _ => {
                if touched.len() >= AUTH_CACHE_MAX {
                    touched.clear();
                }
                touched.insert(key_id, Instant::now());
                true
            }
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized("Missing credentials: send Authorization: Bearer <API key>")
            })?;
            let token_hash = *blake3::hash(token.as_bytes()).as_bytes();
            let key = match state.auth_cache.get(&token_hash) {
                Some(k) => k,
                None => {
                    let found = state.store.authenticate_api_key(&token).await.map_err(ApiError::from)?;
                    let key = found.ok_or_else(|| ApiError::unauthorized("Invalid or revoked API key"))?;
                    state.auth_cache.put(token_hash, key.clone());
                    key
                }
            };
            if state.auth_cache.should_touch(key.key_id) {
                let store = state.store.clone();
                let key_id = key.key_id;
                actix_web::rt::spawn(async move {
                    if let Err(e) = store.touch_api_key(key_id).await {
                        tracing::warn!(error = %e, "could not record API key use");
                    }
                });
            }
            Ok(Principal {
                tenant_id: key.tenant_id,
                actor: Actor::api_key(key.key_id),
                key_id: key.key_id,
                scopes: key.scopes,
                tier: key.tier,
            })
        })
    }
}
