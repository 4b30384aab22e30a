//! Authentication (API keys and sessions) and the scope check of a request. The scope and
//! role tables are `app::scopes`; looking credentials up is `app::identity`.
//!
//! `Authorization: Bearer kt_…`. A verified key is cached for `AUTH_CACHE_TTL` keyed by the
//! blake3 hash of the presented token (never the token itself), so a busy client does not cost a
//! database round trip per request; a revoked key therefore stops working within that time.

use crate::error::ApiError;
use crate::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use app::identity::{KeyPrincipal, KEY_PREFIX, SESSION_PREFIX};
use app::scopes::{scopes_allow, Role};
use journal::Actor;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(5);
const AUTH_CACHE_MAX: usize = 10_000;
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// How the request authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey {
        key_id: Uuid,
        scopes: Vec<String>,
        tier: String,
    },
    Session {
        session_id: Uuid,
        user_id: Uuid,
        role: Role,
    },
}

/// Whoever made the request, and the tenant it acts in.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub actor: Actor,
    pub credential: Credential,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        match &self.credential {
            Credential::ApiKey { scopes, .. } => scopes_allow(scopes, scope),
            Credential::Session { role, .. } => role.allows(scope),
        }
    }

    /// 403 unless the key carries `scope` (`scope_missing`) or the user's role allows it
    /// (`role_forbidden`).
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has_scope(scope) {
            return Ok(());
        }
        let error = match &self.credential {
            Credential::ApiKey { .. } => ApiError::forbidden(
                "scope_missing",
                format!("This API key lacks the scope {scope}"),
            ),
            Credential::Session { role, .. } => ApiError::forbidden(
                "role_forbidden",
                format!("The role {role} does not allow {scope}"),
            ),
        };
        Err(error.with_field("scope", scope.to_string()))
    }

    /// Managing API keys, users and webhooks needs an owner's session, never an API key.
    pub fn require_owner_session(&self) -> Result<Uuid, ApiError> {
        match &self.credential {
            Credential::Session { role, user_id, .. } if *role == Role::Owner => Ok(*user_id),
            Credential::Session { role, .. } => Err(ApiError::forbidden(
                "role_forbidden",
                format!("Only an owner may do this; your role is {role}"),
            )),
            Credential::ApiKey { .. } => Err(ApiError::forbidden(
                "owner_session_required",
                "API keys cannot manage keys, users or webhooks; log in as an owner",
            )),
        }
    }

    /// The rate-limit tier of an API key (sessions are not rate-limited).
    pub fn tier(&self) -> Option<&str> {
        match &self.credential {
            Credential::ApiKey { tier, .. } => Some(tier),
            Credential::Session { .. } => None,
        }
    }

    pub fn key_id(&self) -> Option<Uuid> {
        match &self.credential {
            Credential::ApiKey { key_id, .. } => Some(*key_id),
            Credential::Session { .. } => None,
        }
    }

    pub fn label(&self) -> String {
        app::identity::principal_label(&self.actor)
    }
}

/// Why the credentials presented with a request were refused (kept for the extractor).
#[derive(Clone)]
pub struct AuthFailure(pub ApiError);

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
        self.keys
            .lock()
            .expect("auth cache")
            .retain(|_, (p, _)| p.tenant_id != tenant_id);
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
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

async fn resolve_key(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let token_hash = *blake3::hash(token.as_bytes()).as_bytes();
    let key = match state.auth_cache.get(&token_hash) {
        Some(k) => k,
        None => {
            let found = state.app.authenticate_api_key(token).await?;
            let key = found.ok_or_else(|| ApiError::unauthorized("Invalid or revoked API key"))?;
            state.auth_cache.put(token_hash, key.clone());
            key
        }
    };
    if state.auth_cache.should_touch(key.key_id) {
        let app = state.app.clone();
        let key_id = key.key_id;
        actix_web::rt::spawn(async move {
            if let Err(e) = app.record_api_key_use(key_id).await {
                tracing::warn!(error = ?e, "could not record API key use");
            }
        });
    }
    Ok(Principal {
        tenant_id: key.tenant_id,
        actor: Actor::api_key(key.key_id),
        credential: Credential::ApiKey {
            key_id: key.key_id,
            scopes: key.scopes,
            tier: key.tier,
        },
    })
}

async fn resolve_session(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
) -> Result<Principal, ApiError> {
    let session = state
        .app
        .authenticate_session(token)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("Invalid, expired or revoked session; log in again")
        })?;
    let slug = req
        .headers()
        .get("x-tenant-slug")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    // /v1/auth/me and /v1/auth/logout concern the user, not a tenant.
    let user_scoped = matches!(req.path(), "/v1/auth/me" | "/v1/auth/logout");
    let (tenant_id, role) = state
        .app
        .choose_tenant(session.user_id, slug, user_scoped)
        .await?;
    Ok(Principal {
        tenant_id,
        actor: Actor::user(session.user_id),
        credential: Credential::Session {
            session_id: session.session_id,
            user_id: session.user_id,
            role,
        },
    })
}

/// Resolves the credentials of a request: None without an Authorization header.
pub async fn resolve(state: &AppState, req: &HttpRequest) -> Result<Option<Principal>, ApiError> {
    let Some(token) = bearer(req) else {
        return Ok(None);
    };
    if token.starts_with(KEY_PREFIX) {
        resolve_key(state, &token).await.map(Some)
    } else if token.starts_with(SESSION_PREFIX) {
        resolve_session(state, req, &token).await.map(Some)
    } else {
        Err(ApiError::unauthorized(
            "Unknown credentials: expected an API key (kt_…) or a session token (ks_…)",
        ))
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    /// The guard middleware resolved the credentials already; this only reads its result.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        let result = if let Some(p) = ext.get::<Principal>() {
            Ok(p.clone())
        } else if let Some(AuthFailure(e)) = ext.get::<AuthFailure>() {
            Err(e.clone())
        } else {
            Err(ApiError::unauthorized(
                "Missing credentials: send Authorization: Bearer <API key or session token>",
            ))
        };
        std::future::ready(result)
    }
}
