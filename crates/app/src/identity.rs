//! Identity and access: tenants, API keys, users and their memberships, login and sessions,
//! mailed tokens (invite, reset), login throttling, rate-limit counting, the contact form.
//!
//! The rules live here (and in `scopes`, `passwords`): the form of an email and of a name, the
//! roles, which tokens are still valid, the throttling limits, the last owner of a tenant.
//! `store` only persists.

use crate::mailer::MailConfig;
use crate::scopes::{self, RateLimits, Role, UNLIMITED};
use crate::{passwords, App, AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use journal::{Actor, Currency, FiscalCalendar};
use serde::Serialize;
use store::StoreError;
use uuid::Uuid;

pub use store::identity::{SessionPrincipal, UserLogin, SESSION_PREFIX};
pub use store::keys::{ApiKey, KeyPrincipal, KEY_PREFIX};
pub use store::periods::principal_label;
pub use store::tenants::{NewTenant, Tenant};

/// Failed logins count within this window.
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// How long an invite link works.
pub const INVITE_TTL_HOURS: i64 = 7 * 24;
/// How long a reset link works.
pub const RESET_TTL_HOURS: i64 = 1;
/// The window of the per-address limit of the public forms (contact, forgot-password).
pub const PUBLIC_WINDOW_SECS: i64 = 3600;

/// Settings of the identity use cases (from `KONTOR_*` variables, see docs/operations.md).
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Requests per window for each API-key tier.
    pub rate_limits: RateLimits,
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// Failed logins that block an account, and a client address, for 15 minutes.
    pub login_failures_per_account: i64,
    pub login_failures_per_address: i64,
    /// Requests per client address and hour to the public forms (contact, forgot-password).
    pub public_requests_per_address_per_hour: i64,
    pub mail: MailConfig,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            rate_limits: RateLimits::default(),
            session_ttl: Duration::hours(12),
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            public_requests_per_address_per_hour: 10,
            mail: MailConfig::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pure rules

/// The normalised form of an email address (trimmed, lower case), or None when it is not one.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    ok.then_some(e)
}

/// A name trimmed, when it has 1 to `max` characters.
pub fn checked_name(name: &str, max: usize) -> Option<&str> {
    let n = name.trim();
    (!n.is_empty() && n.chars().count() <= max).then_some(n)
}

/// The slug of a tenant: 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'.
pub fn valid_slug(slug: &str) -> bool {
    (2..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

/// A session token has the form `ks_` + 48 hex characters.
pub fn session_token_well_formed(token: &str) -> bool {
    token
        .strip_prefix(SESSION_PREFIX)
        .is_some_and(|r| r.len() == 48 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a mailed single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenPurpose {
    Invite,
    Reset,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Invite => "invite",
            TokenPurpose::Reset => "reset",
        }
    }

    /// How long a token of this purpose works.
    pub fn ttl(self) -> Duration {
        match self {
            TokenPurpose::Invite => Duration::hours(INVITE_TTL_HOURS),
            TokenPurpose::Reset => Duration::hours(RESET_TTL_HOURS),
        }
    }
}

/// A mailed token works once, until it expires.
pub fn token_usable(
    used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    used_at.is_none() && expires_at >= now
}

/// Seconds to wait when `count` failures within `window` reach `max` (the oldest one counted
/// at `oldest`); None: not throttled.
pub fn throttle(
    count: i64,
    oldest: Option<DateTime<Utc>>,
    max: i64,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<u64> {
    (count >= max).then(|| match oldest {
        Some(o) => (o + window - now).num_seconds().max(1) as u64,
        None => window.num_seconds().max(1) as u64,
    })
}

/// A request counted in its key's fixed window.
#[derive(Debug, Clone)]
pub struct RateWindow {
    pub tier: String,
    pub limit: u32,
    /// Window length in seconds.
    pub window: u32,
    pub remaining: u32,
    /// Unix time when the window ends.
    pub reset: i64,
    pub retry_after: u64,
    pub exceeded: bool,
}

/// The start (unix seconds) of the fixed window of `window` seconds that `now` falls in.
pub fn window_start(now: DateTime<Utc>, window: u32) -> i64 {
    now.timestamp() - now.timestamp().rem_euclid(i64::from(window))
}

impl RateWindow {
    /// The window with `count` requests counted (this one included).
    pub fn counted(
        tier: &str,
        (limit, window): (u32, u32),
        count: i64,
        now: DateTime<Utc>,
    ) -> RateWindow {
        let reset = window_start(now, window) + i64::from(window);
        RateWindow {
            tier: tier.to_string(),
            limit,
            window,
            remaining: (i64::from(limit) - count).max(0) as u32,
            reset,
            retry_after: (reset - now.timestamp()).max(1) as u64,
            exceeded: count > i64::from(limit),
        }
    }
}

fn invalid_name(max: usize) -> AppError {
    AppError::invalid(
        "invalid_name",
        format!("name must be 1 to {max} characters"),
        Some("name"),
    )
}

/// The trimmed name of a key (1 to 100 characters) with valid scopes.
fn checked_key<'a>(name: &'a str, scopes: &[String]) -> AppResult<&'a str> {
    let name = checked_name(name, 100).ok_or_else(|| invalid_name(100))?;
    scopes::validate_scopes(scopes)
        .map_err(|e| AppError::invalid("invalid_scope", e, Some("scopes")))?;
    Ok(name)
}

fn invalid_email() -> AppError {
    AppError::invalid(
        "invalid_email",
        "email is not a valid address",
        Some("email"),
    )
}

fn parse_role(role: &str) -> AppResult<Role> {
    Role::parse(role).ok_or_else(|| {
        AppError::invalid(
            "invalid_role",
            "role must be owner, accountant, auditor or viewer",
            Some("role"),
        )
    })
}

/// A role as stored (the database allows only the four).
fn stored_role(role: &str) -> AppResult<Role> {
    Role::parse(role).ok_or_else(|| {
        AppError::Store(StoreError::Internal(format!(
            "unknown role {role:?} stored"
        )))
    })
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Store(StoreError::Internal(e.to_string()))
}

fn too_many(message: &str, retry_after: u64) -> AppError {
    AppError::TooMany {
        code: "too_many_attempts",
        message: message.into(),
        retry_after,
    }
}

// ---------------------------------------------------------------------------------------------
// Records

/// A user as a member of one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub is_active: bool,
    /// False until the user has set a password through the invite.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<store::identity::Member> for Member {
    type Error = AppError;
    fn try_from(m: store::identity::Member) -> AppResult<Member> {
        Ok(Member {
            role: stored_role(&m.role)?,
            id: m.id,
            email: m.email,
            name: m.name,
            is_active: m.is_active,
            has_password: m.has_password,
            created_at: m.created_at,
        })
    }
}

/// A tenant a user is an active member of.
#[derive(Debug, Clone, Serialize)]
pub struct TenantMembership {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: Role,
}

impl TryFrom<store::identity::TenantMembership> for TenantMembership {
    type Error = AppError;
    fn try_from(t: store::identity::TenantMembership) -> AppResult<TenantMembership> {
        Ok(TenantMembership {
            role: stored_role(&t.role)?,
            tenant_id: t.tenant_id,
            slug: t.slug,
            name: t.name,
        })
    }
}

/// A key to create through the API (owner session).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    /// Default `["*"]`.
    pub scopes: Option<Vec<String>>,
    /// Default `starter`; one of the configured tiers.
    pub tier: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Who creates it (e.g. `user:<id>`).
    pub created_by: Option<String>,
}

/// A new key with its plaintext, which is shown once and stored nowhere.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub plaintext: String,
}

/// A user to add to a tenant.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: String,
    pub name: String,
    /// owner, accountant, auditor or viewer.
    pub role: String,
    /// Set the password directly (admin CLI); without it, a user who has none gets an invite.
    pub password: Option<String>,
}

/// A change of a member: role, name, or both.
#[derive(Debug, Clone, Default)]
pub struct MemberChange {
    pub role: Option<String>,
    pub name: Option<String>,
}

/// A login attempt from a client address.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub address: String,
}

/// A new session, its user and the tenants the user may act in.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserLogin,
    pub tenants: Vec<TenantMembership>,
}

/// A message of the public contact form.
#[derive(Debug, Clone)]
pub struct ContactMessage {
    pub name: String,
    pub email: String,
    pub message: String,
    /// A form field hidden from people; bots fill it in.
    pub honeypot: Option<String>,
    pub address: String,
}

// ---------------------------------------------------------------------------------------------
// Use cases

impl App {
    pub fn identity_config(&self) -> &IdentityConfig {
        &self.identity
    }

    /// Fails when the mail configuration is unusable (bad sender, unwritable mail folder).
    pub fn check_mailer(&self) -> Result<(), String> {
        self.mailer.get().map(|_| ())
    }

    /// Creates a tenant with its chart of accounts, tax codes and journal head.
    pub async fn create_tenant(&self, mut new: NewTenant) -> AppResult<Tenant> {
        if !valid_slug(&new.slug) {
            return Err(AppError::invalid(
                "invalid_slug",
                "slug must be 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'",
                Some("slug"),
            ));
        }
        new.name = checked_name(&new.name, 200)
            .ok_or_else(|| invalid_name(200))?
            .to_string();
        if store::tenants::chart(&new.chart).is_none() {
            return Err(AppError::invalid(
                "unknown_chart",
                format!("unknown chart {:?} (skr03 or skr04)", new.chart),
                Some("chart"),
            ));
        }
        FiscalCalendar::new(new.fiscal_year_start_month).ok_or_else(|| {
            AppError::invalid(
                "invalid_fiscal_year_start_month",
                "fiscal year start month must be 1 to 12",
                Some("fiscal_year_start_month"),
            )
        })?;
        Currency::from_code(&new.currency)
            .map_err(|e| AppError::invalid("unknown_currency", e.to_string(), Some("currency")))?;
        Ok(self.store().create_tenant(new).await?)
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> AppResult<Tenant> {
        Ok(self.store().tenant_by_slug(slug).await?)
    }

    /// `POST /v1/api-keys`: a key of a configured tier.
    pub async fn create_api_key(
        &self,
        tenant_id: Uuid,
        new: NewApiKey,
    ) -> AppResult<CreatedApiKey> {
        let scopes = new.scopes.unwrap_or_else(|| vec!["*".into()]);
        checked_key(&new.name, &scopes)?;
        let tier = new.tier.unwrap_or_else(|| "starter".into());
        if self.identity.rate_limits.of(&tier).is_none() {
            let mut tiers: Vec<&String> = self.identity.rate_limits.0.keys().collect();
            tiers.sort();
            return Err(AppError::invalid(
                "invalid_tier",
                format!("tier must be one of {tiers:?}"),
                Some("tier"),
            ));
        }
        if new.expires_at.is_some_and(|t| t <= self.now()) {
            return Err(AppError::invalid(
                "invalid_expiry",
                "expires_at must be in the future",
                Some("expires_at"),
            ));
        }
        self.insert_api_key(
            tenant_id,
            &new.name,
            scopes,
            &tier,
            new.created_by,
            new.expires_at,
        )
        .await
    }

    /// `kontor admin create-tenant | create-api-key`: a key without rate limit, made by the CLI.
    pub async fn create_admin_api_key(
        &self,
        tenant_id: Uuid,
        name: &str,
        scopes: Vec<String>,
    ) -> AppResult<CreatedApiKey> {
        let scopes = scopes
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        self.insert_api_key(
            tenant_id,
            name,
            scopes,
            UNLIMITED,
            Some("admin-cli".into()),
            None,
        )
        .await
    }

    async fn insert_api_key(
        &self,
        tenant_id: Uuid,
        name: &str,
        scopes: Vec<String>,
        tier: &str,
        created_by: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    ) -> AppResult<CreatedApiKey> {
        let name = checked_key(name, &scopes)?;
        let (key, plaintext) = self
            .store()
            .create_api_key_expiring(
                tenant_id,
                name,
                &scopes,
                tier,
                created_by.as_deref(),
                expires_at,
            )
            .await?;
        Ok(CreatedApiKey { key, plaintext })
    }

    pub async fn list_api_keys(&self, tenant_id: Uuid) -> AppResult<Vec<ApiKey>> {
        Ok(self.store().list_api_keys(tenant_id).await?)
    }

    /// Revokes a key of the tenant (404 for another tenant's key).
    pub async fn revoke_api_key(
        &self,
        tenant_id: Uuid,
        key_id: Uuid,
        by: &Actor,
    ) -> AppResult<ApiKey> {
        Ok(self
            .store()
            .revoke_api_key(tenant_id, key_id, &principal_label(by))
            .await?)
    }

    /// The key a presented `kt_…` token is, when it is live (not revoked, not expired).
    pub async fn authenticate_api_key(&self, token: &str) -> AppResult<Option<KeyPrincipal>> {
        Ok(self.store().authenticate_api_key(token).await?)
    }

    /// Records that a key was used (the caller calls it at most about once a minute per key).
    pub async fn record_api_key_use(&self, key_id: Uuid) -> AppResult<()> {
        Ok(self.store().touch_api_key(key_id).await?)
    }

    /// Counts a request of a key in its tier's fixed window (shared by all replicas through the
    /// database). None: the tier has no limit.
    pub async fn count_request(&self, key_id: Uuid, tier: &str) -> AppResult<Option<RateWindow>> {
        let Some(limit) = self.identity.rate_limits.of(tier) else {
            return Ok(None);
        };
        let now = self.now();
        let start = window_start(now, limit.1);
        let start_at = DateTime::from_timestamp(start, 0).unwrap_or(now);
        let count = self.store().count_request(key_id, start_at).await?;
        Ok(Some(RateWindow::counted(tier, limit, count, now)))
    }

    /// `POST /v1/users` and `kontor admin create-user`: adds a user to a tenant (creating the
    /// user when the email is new). With a password, it is set at once. Without, a user who has
    /// none gets an invite mail; when that cannot be sent, the invite is taken back
    /// (`mail_failed`), so that a retry can send a new one.
    pub async fn add_member(&self, tenant_id: Uuid, new: NewMember) -> AppResult<Member> {
        let email = normalize_email(&new.email).ok_or_else(invalid_email)?;
        let name = checked_name(&new.name, 200).ok_or_else(|| invalid_name(200))?;
        let role = parse_role(&new.role)?;
        let hash = match new.password {
            Some(p) => Some(self.password_hash(p).await?),
            None => None,
        };
        let member = self
            .store()
            .invite_user(tenant_id, &email, name, role.as_str())
            .await?;
        match hash {
            Some(hash) => {
                self.store().set_password(member.id, &hash).await?;
                return self.get_member(tenant_id, member.id).await;
            }
            None if !member.has_password => {
                if let Err(e) = self.send_invite(tenant_id, &member).await {
                    // Nobody can use an invite that never arrived.
                    tracing::error!(error = %e, "invite mail failed");
                    self.store().withdraw_invite(tenant_id, member.id).await?;
                    return Err(AppError::Upstream {
                        code: "mail_failed",
                        message: "The invite mail could not be sent".into(),
                    });
                }
            }
            None => {}
        }
        Member::try_from(member)
    }

    async fn send_invite(
        &self,
        tenant_id: Uuid,
        member: &store::identity::Member,
    ) -> Result<(), String> {
        let tenant = self
            .tenant_info(tenant_id)
            .await
            .map_err(|e| e.to_string())?;
        let mailer = self.mailer.get()?;
        let token = self
            .mail_token(member.id, TokenPurpose::Invite)
            .await
            .map_err(|e| e.to_string())?;
        mailer
            .send_invite(&member.email, &member.name, &tenant.tenant.name, &token)
            .await
    }

    async fn mail_token(&self, user_id: Uuid, purpose: TokenPurpose) -> AppResult<String> {
        let expires_at = self.now() + purpose.ttl();
        Ok(self
            .store()
            .create_auth_token(user_id, purpose.as_str(), expires_at)
            .await?)
    }

    /// Checks the password policy (`weak_password`) and hashes the password.
    async fn password_hash(&self, password: String) -> AppResult<String> {
        if let Some(problem) = passwords::weakness(&password) {
            return Err(AppError::invalid(
                "weak_password",
                problem,
                Some("password"),
            ));
        }
        passwords::hash(password).await.map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            internal(e)
        })
    }

    pub async fn list_members(&self, tenant_id: Uuid) -> AppResult<Vec<Member>> {
        self.store()
            .list_members(tenant_id)
            .await?
            .into_iter()
            .map(Member::try_from)
            .collect()
    }

    pub async fn get_member(&self, tenant_id: Uuid, user_id: Uuid) -> AppResult<Member> {
        Member::try_from(self.store().get_member(tenant_id, user_id).await?)
    }

    /// Changes a member's role and/or name. The last active owner cannot be demoted.
    pub async fn update_member(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        change: MemberChange,
    ) -> AppResult<Member> {
        let role = change.role.as_deref().map(parse_role).transpose()?;
        let name = match change.name.as_deref() {
            Some(n) => Some(checked_name(n, 200).ok_or_else(|| invalid_name(200))?),
            None => None,
        };
        self.in_transaction(async |tx| {
            let current = store::Store::member_role_for_update(tx, tenant_id, user_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("user {user_id}")))?;
            if stored_role(&current)? == Role::Owner && role.is_some_and(|r| r != Role::Owner) {
                ensure_other_owner(tx, tenant_id, user_id).await?;
            }
            if let Some(r) = role {
                store::Store::set_member_role(tx, tenant_id, user_id, r.as_str()).await?;
            }
            if let Some(n) = &name {
                store::Store::set_user_name(tx, user_id, n).await?;
            }
            Member::try_from(store::Store::member_in_tx(tx, tenant_id, user_id).await?)
        })
        .await
    }

    /// Deactivates a member and ends all of the user's sessions at once. The last active owner
    /// stays.
    pub async fn deactivate_member(&self, tenant_id: Uuid, user_id: Uuid) -> AppResult<Member> {
        self.in_transaction(async |tx| {
            let current = store::Store::member_role_for_update(tx, tenant_id, user_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("user {user_id}")))?;
            if stored_role(&current)? == Role::Owner {
                ensure_other_owner(tx, tenant_id, user_id).await?;
            }
            store::Store::deactivate_membership(tx, tenant_id, user_id).await?;
            Member::try_from(store::Store::member_in_tx(tx, tenant_id, user_id).await?)
        })
        .await
    }

    /// `POST /v1/auth/login`. Failed attempts count per account and per client address; either
    /// limit reached refuses further attempts (`too_many_attempts`) until the window moves on.
    /// A user without an active membership anywhere has nothing to log in to.
    pub async fn login(&self, attempt: LoginAttempt) -> AppResult<LoggedIn> {
        let email = attempt.email.trim().to_lowercase();
        let account = format!("login:account:{email}");
        let address = format!("login:address:{}", attempt.address);
        let window = Duration::seconds(THROTTLE_WINDOW_SECS);
        for (subject, max) in [
            (&account, self.identity.login_failures_per_account),
            (&address, self.identity.login_failures_per_address),
        ] {
            let (count, oldest) = self.store().login_failures(subject, window).await?;
            if let Some(retry) = throttle(count, oldest, max, window, self.now()) {
                return Err(too_many(
                    "Too many failed logins; wait before trying again",
                    retry,
                ));
            }
        }
        let user = match normalize_email(&email) {
            Some(e) => self.store().user_by_email(&e).await?,
            None => None,
        };
        let stored = user
            .as_ref()
            .filter(|u| u.is_active)
            .and_then(|u| u.password_hash.clone());
        let valid = passwords::verify(attempt.password, stored).await;
        let tenants = match &user {
            Some(u) if valid => self.user_tenants(u.id).await?,
            _ => Vec::new(),
        };
        let Some(user) = user.filter(|_| valid && !tenants.is_empty()) else {
            self.store()
                .record_login_failure(&[account, address])
                .await?;
            return Err(AppError::Unauthenticated {
                code: "invalid_credentials",
                message: "Email or password is wrong".into(),
            });
        };
        self.store().clear_login_failures(&account).await?;
        let (token, expires_at) = self
            .store()
            .create_session(user.id, self.identity.session_ttl)
            .await?;
        Ok(LoggedIn {
            token,
            expires_at,
            user,
            tenants,
        })
    }

    /// Ends a session.
    pub async fn logout(&self, session_id: Uuid) -> AppResult<()> {
        Ok(self.store().revoke_session(session_id).await?)
    }

    /// The live session a presented `ks_…` token is (not revoked, not expired, user active).
    pub async fn authenticate_session(&self, token: &str) -> AppResult<Option<SessionPrincipal>> {
        if !session_token_well_formed(token) {
            return Ok(None);
        }
        Ok(self.store().authenticate_session(token).await?)
    }

    pub async fn user(&self, user_id: Uuid) -> AppResult<UserLogin> {
        Ok(self.store().user_by_id(user_id).await?)
    }

    /// The tenants a user is an active member of, by slug.
    pub async fn user_tenants(&self, user_id: Uuid) -> AppResult<Vec<TenantMembership>> {
        self.store()
            .user_tenants(user_id)
            .await?
            .into_iter()
            .map(TenantMembership::try_from)
            .collect()
    }

    /// The tenant and role of an active membership of the user in the tenant named `slug`.
    pub async fn membership_by_slug(
        &self,
        user_id: Uuid,
        slug: &str,
    ) -> AppResult<Option<(Uuid, Role)>> {
        match self.store().membership_by_slug(user_id, slug).await? {
            Some((tenant_id, role)) => Ok(Some((tenant_id, stored_role(&role)?))),
            None => Ok(None),
        }
    }

    /// The tenant a session acts in: the one named by `slug`, else the user's only tenant. A
    /// user of several tenants must name one, except for requests about the user itself
    /// (`user_scoped`: me, logout), which take the first.
    pub async fn choose_tenant(
        &self,
        user_id: Uuid,
        slug: Option<&str>,
        user_scoped: bool,
    ) -> AppResult<(Uuid, Role)> {
        if let Some(slug) = slug {
            return self
                .membership_by_slug(user_id, slug)
                .await?
                .ok_or_else(|| AppError::not_found(format!("tenant {slug}")));
        }
        let tenants = self.user_tenants(user_id).await?;
        match tenants.as_slice() {
            [one] => Ok((one.tenant_id, one.role)),
            [] => Err(AppError::Forbidden {
                code: "no_tenant",
                message: "This user is not an active member of any tenant".into(),
            }),
            [first, ..] if user_scoped => Ok((first.tenant_id, first.role)),
            _ => Err(AppError::invalid(
                "tenant_required",
                "This user belongs to several tenants: choose one with the x-tenant-slug header",
                None,
            )),
        }
    }

    /// `POST /v1/auth/forgot-password`: limited per client address. The answer and its timing
    /// do not depend on the address: the look-up and the mail happen afterwards, in a task.
    pub async fn forgot_password(&self, email: String, address: &str) -> AppResult<()> {
        self.count_public_request(
            &format!("forgot:address:{address}"),
            "Too many reset requests; try again later",
        )
        .await?;
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = app.send_reset(&email).await {
                tracing::error!(error = %e, "password reset mail failed");
            }
        });
        Ok(())
    }

    async fn count_public_request(&self, subject: &str, message: &str) -> AppResult<()> {
        let window = Duration::seconds(PUBLIC_WINDOW_SECS);
        let (count, _) = self.store().login_failures(subject, window).await?;
        if count >= self.identity.public_requests_per_address_per_hour {
            return Err(too_many(message, PUBLIC_WINDOW_SECS as u64));
        }
        self.store()
            .record_login_failure(&[subject.to_string()])
            .await?;
        Ok(())
    }

    async fn send_reset(&self, email: &str) -> Result<(), String> {
        let Some(email) = normalize_email(email) else {
            return Ok(());
        };
        let Some(user) = self
            .store()
            .user_by_email(&email)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let has_tenant = !self
            .user_tenants(user.id)
            .await
            .map_err(|e| e.to_string())?
            .is_empty();
        if !user.is_active || !has_tenant {
            return Ok(());
        }
        let mailer = self.mailer.get()?;
        let token = self
            .mail_token(user.id, TokenPurpose::Reset)
            .await
            .map_err(|e| e.to_string())?;
        mailer.send_reset(&user.email, &user.name, &token).await
    }

    /// `POST /v1/auth/setup-password`: uses an invite or reset token once. Sets the password,
    /// uses up the user's other tokens and ends the user's sessions.
    pub async fn setup_password(&self, token: &str, password: String) -> AppResult<()> {
        let hash = self.password_hash(password).await?;
        let invalid = || {
            AppError::invalid(
                "invalid_token",
                "the token is unknown, used or expired",
                Some("token"),
            )
        };
        self.in_transaction(async |tx| {
            let stored = self
                .store()
                .auth_token_for_update(tx, token.trim())
                .await?
                .ok_or_else(invalid)?;
            if !token_usable(stored.used_at, stored.expires_at, self.now()) {
                return Err(invalid());
            }
            Ok(store::Store::use_auth_tokens(tx, stored.user_id, &hash).await?)
        })
        .await
    }

    /// Sets a user's password directly (the admin CLI).
    pub async fn set_password(&self, user_id: Uuid, password: String) -> AppResult<()> {
        let hash = self.password_hash(password).await?;
        Ok(self.store().set_password(user_id, &hash).await?)
    }

    /// `POST /v1/contact`: stored for the operator. A filled honeypot gets the same answer and
    /// nothing is stored. Limited per client address and hour.
    pub async fn contact(&self, m: ContactMessage) -> AppResult<()> {
        if m.honeypot.as_deref().is_some_and(|h| !h.trim().is_empty()) {
            return Ok(());
        }
        let name = checked_name(&m.name, 200).ok_or_else(|| invalid_name(200))?;
        let email = normalize_email(&m.email).ok_or_else(invalid_email)?;
        let message = checked_name(&m.message, 5000).ok_or_else(|| {
            AppError::invalid(
                "invalid_message",
                "message must be 1 to 5000 characters",
                Some("message"),
            )
        })?;
        let window = Duration::seconds(PUBLIC_WINDOW_SECS);
        let recent = self
            .store()
            .recent_contact_messages(&m.address, window)
            .await?;
        if recent >= self.identity.public_requests_per_address_per_hour {
            return Err(AppError::TooMany {
                code: "rate_limited",
                message: "Too many messages from this address; try again later".into(),
                retry_after: PUBLIC_WINDOW_SECS as u64,
            });
        }
        self.store()
            .store_contact_message(name, &email, message, Some(&m.address))
            .await?;
        Ok(())
    }

    /// Removes what has served its purpose: rate-limit windows and login failures older than a
    /// day, idempotency keys older than 24 hours, sessions and tokens expired for a week.
    pub async fn housekeeping(&self) -> AppResult<()> {
        Ok(self.store().housekeeping().await?)
    }
}

/// `last_owner` unless the tenant has another active owner.
async fn ensure_other_owner(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    if store::Store::other_active_owners(tx, tenant_id, user_id).await? == 0 {
        return Err(AppError::conflict(
            "last_owner",
            "a tenant needs at least one active owner",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize_email("  Anna.Becker@Beispiel.TEST "),
            Some("anna.becker@beispiel.test".into())
        );
        for bad in [
            "",
            "anna",
            "@beispiel.test",
            "anna@",
            "anna@localhost",
            "anna@.test",
            "anna@beispiel.",
            "anna@bei@spiel.test",
            "an na@beispiel.test",
            "anna@beispiel\u{0}.test",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
        let long = format!("{}@beispiel.test", "a".repeat(250));
        assert_eq!(normalize_email(&long), None);
    }

    #[test]
    fn names_and_slugs() {
        assert_eq!(checked_name("  Anna ", 200), Some("Anna"));
        assert_eq!(checked_name("   ", 200), None);
        assert_eq!(
            checked_name(&"ä".repeat(200), 200).map(|n| n.len()),
            Some(400)
        );
        assert_eq!(checked_name(&"a".repeat(101), 100), None);
        assert!(valid_slug("acme-2026"));
        assert!(!valid_slug("a"));
        assert!(!valid_slug("-acme"));
        assert!(!valid_slug("Acme"));
        assert!(!valid_slug(&"a".repeat(64)));
    }

    #[test]
    fn session_tokens_have_one_form() {
        let good = format!("ks_{}", "0a".repeat(24));
        assert!(session_token_well_formed(&good));
        assert!(!session_token_well_formed(&good[..good.len() - 1]));
        assert!(!session_token_well_formed(&format!(
            "kt_{}",
            "0a".repeat(24)
        )));
        assert!(!session_token_well_formed(&format!(
            "ks_{}",
            "zz".repeat(24)
        )));
        assert!(!session_token_well_formed("ks_"));
    }

    #[test]
    fn a_mailed_token_works_once_until_it_expires() {
        let now = at(1_000_000);
        assert!(token_usable(None, now, now));
        assert!(token_usable(None, at(1_000_001), now));
        assert!(!token_usable(None, at(999_999), now));
        assert!(!token_usable(Some(at(999_000)), at(2_000_000), now));
        assert_eq!(TokenPurpose::Invite.ttl(), Duration::days(7));
        assert_eq!(TokenPurpose::Reset.ttl(), Duration::hours(1));
        assert_eq!(TokenPurpose::Invite.as_str(), "invite");
        assert_eq!(TokenPurpose::Reset.as_str(), "reset");
    }

    #[test]
    fn throttling_starts_at_the_limit_and_ends_with_the_window() {
        let window = Duration::seconds(THROTTLE_WINDOW_SECS);
        let now = at(10_000);
        assert_eq!(throttle(4, Some(at(9_000)), 5, window, now), None);
        assert_eq!(throttle(5, Some(at(9_500)), 5, window, now), Some(400));
        assert_eq!(throttle(9, Some(at(9_100)), 5, window, now), Some(1));
        assert_eq!(throttle(5, None, 5, window, now), Some(900));
    }

    #[test]
    fn rate_windows_are_fixed_and_count_the_request_itself() {
        let now = at(3_600 * 10 + 125);
        let w = RateWindow::counted("starter", (3, 3600), 3, now);
        assert_eq!(window_start(now, 3600), 36_000);
        assert_eq!(w.reset, 39_600);
        assert_eq!(w.remaining, 0);
        assert!(!w.exceeded);
        assert_eq!(w.retry_after, 3_475);
        let w = RateWindow::counted("starter", (3, 3600), 4, now);
        assert!(w.exceeded);
        assert_eq!(w.remaining, 0);
        assert_eq!(RateWindow::counted("s", (3, 60), 1, now).remaining, 2);
    }
}
