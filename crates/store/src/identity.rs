//! Users, memberships, sessions, single-use tokens, login throttling, rate-limit windows,
//! and contact messages. Only persistence: the rules (email form, roles, names, which tokens
//! are valid, throttling limits, the last owner) are the application's (`app::identity`).

use crate::keys::key_hash;
use crate::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;
use uuid::Uuid;

pub const SESSION_PREFIX: &str = "ks_";

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub is_active: bool,
    /// False until the user has set a password through the invite.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct UserLogin {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub is_active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantMembership {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// A mailed single-use token (invite or reset), as stored.
#[derive(Debug, Clone)]
pub struct AuthToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl AuthToken {
    fn from_row(r: &tokio_postgres::Row) -> AuthToken {
        AuthToken {
            id: r.get("id"),
            user_id: r.get("user_id"),
            purpose: r.get("purpose"),
            expires_at: r.get("expires_at"),
            used_at: r.get("used_at"),
        }
    }
}

impl UserLogin {
    fn from_row(r: &tokio_postgres::Row) -> UserLogin {
        UserLogin {
            id: r.get("id"),
            email: r.get("email"),
            name: r.get("name"),
            password_hash: r.get("password_hash"),
            is_active: r.get("is_active"),
        }
    }
}

impl TenantMembership {
    fn from_row(r: &tokio_postgres::Row) -> TenantMembership {
        TenantMembership {
            tenant_id: r.get("tenant_id"),
            slug: r.get("slug"),
            name: r.get("name"),
            role: r.get("role"),
        }
    }
}

const USER_COLUMNS: &str = "id, email, name, password_hash, is_active";

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

fn member_from_row(r: &tokio_postgres::Row) -> Member {
    Member {
        id: r.get("id"),
        email: r.get("email"),
        name: r.get("name"),
        role: r.get("role"),
        is_active: r.get("is_active"),
        has_password: r.get("has_password"),
        created_at: r.get("created_at"),
    }
}

const MEMBERSHIP_SELECT: &str =
    "SELECT t.id AS tenant_id, t.slug, t.name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id";

const MEMBER_SELECT: &str =
    "SELECT u.id, u.email, u.name, m.role, (m.is_active AND u.is_active) AS is_active,
        u.password_hash IS NOT NULL AS has_password, m.created_at
   FROM memberships m JOIN users u ON u.id = m.user_id";

impl Store {
    /// Adds a user to a tenant, creating the user when the (normalised) email is new; a user
    /// who exists keeps its name. Returns the member; `has_password` false means an invite is
    /// due. `user_exists` when the user is an active member already.
    pub async fn invite_user(
        &self,
        tenant_id: Uuid,
        email: &str,
        name: &str,
        role: &str,
    ) -> Result<Member, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO users (id, email, name) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING",
            &[&Uuid::now_v7(), &email, &name],
        )
        .await?;
        let user_id: Uuid = tx
            .query_one("SELECT id FROM users WHERE email = $1", &[&email])
            .await?
            .get(0);
        // A deactivated member invited again is reactivated with the new role.
        let inserted = tx
            .execute(
                "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET is_active = true, role = EXCLUDED.role, updated_at = now()
                  WHERE NOT memberships.is_active",
                &[&tenant_id, &user_id, &role],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::conflict(
                "user_exists",
                format!("{email} is already a user of this tenant"),
            ));
        }
        let row = tx
            .query_one(
                &format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2"),
                &[&tenant_id, &user_id],
            )
            .await?;
        tx.commit().await?;
        Ok(member_from_row(&row))
    }

    pub async fn list_members(&self, tenant_id: Uuid) -> Result<Vec<Member>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 ORDER BY m.created_at"),
                &[&tenant_id],
            )
            .await?;
        Ok(rows.iter().map(member_from_row).collect())
    }

    pub async fn get_member(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Member, StoreError> {
        member(&**self.client().await?, tenant_id, user_id).await
    }

    /// A member as a transaction sees it (after its own changes).
    pub async fn member_in_tx(
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> Result<Member, StoreError> {
        member(&**tx, tenant_id, user_id).await
    }

    /// A member's role, with the membership row locked until the transaction ends.
    pub async fn member_role_for_update(
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        Ok(tx
            .query_opt(
                "SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
                &[&tenant_id, &user_id],
            )
            .await?
            .map(|r| r.get(0)))
    }

    /// Active owners of the tenant other than `user_id`.
    pub async fn other_active_owners(
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> Result<i64, StoreError> {
        Ok(tx
            .query_one(
                "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
                  WHERE m.tenant_id = $1 AND m.user_id <> $2 AND m.role = 'owner' AND m.is_active AND u.is_active",
                &[&tenant_id, &user_id],
            )
            .await?
            .get(0))
    }

    pub async fn set_member_role(
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> Result<(), StoreError> {
        tx.execute(
            "UPDATE memberships SET role = $3, updated_at = now() WHERE tenant_id = $1 AND user_id = $2",
            &[&tenant_id, &user_id, &role],
        )
        .await?;
        Ok(())
    }

    pub async fn set_user_name(
        tx: &deadpool_postgres::Transaction<'_>,
        user_id: Uuid,
        name: &str,
    ) -> Result<(), StoreError> {
        tx.execute(
            "UPDATE users SET name = $2 WHERE id = $1",
            &[&user_id, &name],
        )
        .await?;
        Ok(())
    }

    /// Deactivates a membership and ends all of the user's sessions.
    pub async fn deactivate_membership(
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> Result<(), StoreError> {
        tx.execute(
            "UPDATE memberships SET is_active = false, updated_at = now() WHERE tenant_id = $1 AND user_id = $2",
            &[&tenant_id, &user_id],
        )
        .await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user_id],
        )
        .await?;
        Ok(())
    }

    /// The user with this (normalised) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserLogin>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"),
                &[&email],
            )
            .await?;
        Ok(row.as_ref().map(UserLogin::from_row))
    }

    pub async fn user_by_id(&self, user_id: Uuid) -> Result<UserLogin, StoreError> {
        let client = self.client().await?;
        let r = client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
                &[&user_id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found("user"))?;
        Ok(UserLogin::from_row(&r))
    }

    /// The tenants a user is an active member of.
    pub async fn user_tenants(&self, user_id: Uuid) -> Result<Vec<TenantMembership>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "{MEMBERSHIP_SELECT} WHERE m.user_id = $1 AND m.is_active ORDER BY t.slug"
                ),
                &[&user_id],
            )
            .await?;
        Ok(rows.iter().map(TenantMembership::from_row).collect())
    }

    /// A new session lasting `ttl`; returns its token (stored only as a keyed hash) and when it
    /// ends.
    pub async fn create_session(
        &self,
        user_id: Uuid,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>), StoreError> {
        let token = random_token(SESSION_PREFIX);
        let prefix = token[SESSION_PREFIX.len()..SESSION_PREFIX.len() + 12].to_string();
        let expires_at = Utc::now() + ttl;
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO sessions (id, user_id, prefix, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&Uuid::now_v7(), &user_id, &prefix, &key_hash(self.secret(), &token).as_slice(), &expires_at],
            )
            .await?;
        Ok((token, expires_at))
    }

    /// A live session (not revoked, not expired, user active) for a presented token, looked up
    /// by its prefix and compared by keyed hash.
    pub async fn authenticate_session(
        &self,
        token: &str,
    ) -> Result<Option<SessionPrincipal>, StoreError> {
        let Some(prefix) = token
            .strip_prefix(SESSION_PREFIX)
            .and_then(|random| random.get(..12))
        else {
            return Ok(None);
        };
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT s.id, s.user_id, s.token_hash, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.prefix = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active",
                &[&prefix],
            )
            .await?
        else {
            return Ok(None);
        };
        let stored: Vec<u8> = row.get(2);
        let Ok(stored) = <[u8; 32]>::try_from(stored.as_slice()) else {
            return Ok(None);
        };
        if blake3::Hash::from(stored) != blake3::Hash::from(key_hash(self.secret(), token)) {
            return Ok(None);
        }
        Ok(Some(SessionPrincipal {
            session_id: row.get(0),
            user_id: row.get(1),
            expires_at: row.get(3),
        }))
    }

    /// The active role of a user in a tenant named by slug (None: not a member there).
    pub async fn membership_by_slug(
        &self,
        user_id: Uuid,
        slug: &str,
    ) -> Result<Option<(Uuid, String)>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "{MEMBERSHIP_SELECT} WHERE m.user_id = $1 AND t.slug = $2 AND m.is_active"
                ),
                &[&user_id, &slug],
            )
            .await?;
        Ok(row
            .as_ref()
            .map(TenantMembership::from_row)
            .map(|m| (m.tenant_id, m.role)))
    }

    pub async fn revoke_session(&self, session_id: Uuid) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                &[&session_id],
            )
            .await?;
        Ok(())
    }

    /// A single-use token for an invite or a password reset (its plaintext goes into the mail).
    pub async fn create_auth_token(
        &self,
        user_id: Uuid,
        purpose: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = random_token("");
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO auth_tokens (id, user_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&Uuid::now_v7(), &user_id, &purpose, &key_hash(self.secret(), &token).as_slice(), &expires_at],
            )
            .await?;
        Ok(token)
    }

    /// The stored token a presented one hashes to, its row locked until the transaction ends.
    pub async fn auth_token_for_update(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        token: &str,
    ) -> Result<Option<AuthToken>, StoreError> {
        let row = tx
            .query_opt(
                "SELECT id, user_id, purpose, expires_at, used_at FROM auth_tokens WHERE token_hash = $1 FOR UPDATE",
                &[&key_hash(self.secret(), token).as_slice()],
            )
            .await?;
        Ok(row.as_ref().map(AuthToken::from_row))
    }

    /// Marks every outstanding token of the user used, sets the password hash and ends the
    /// user's sessions.
    pub async fn use_auth_tokens(
        tx: &deadpool_postgres::Transaction<'_>,
        user_id: Uuid,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        tx.execute(
            "UPDATE auth_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
            &[&user_id],
        )
        .await?;
        tx.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&user_id, &password_hash],
        )
        .await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user_id],
        )
        .await?;
        Ok(())
    }

    /// Failed logins of `subject` within the window, and the oldest of them.
    pub async fn login_failures(
        &self,
        subject: &str,
        window: Duration,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(*), min(at) FROM login_failures WHERE subject = $1 AND at > now() - $2 * interval '1 second'",
                &[&subject, &(window.num_seconds() as f64)],
            )
            .await?;
        Ok((row.get(0), row.get(1)))
    }

    pub async fn record_login_failure(&self, subjects: &[String]) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO login_failures (subject) SELECT unnest($1::text[])",
                &[&subjects],
            )
            .await?;
        client
            .execute(
                "DELETE FROM login_failures WHERE at < now() - interval '1 day'",
                &[],
            )
            .await?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, subject: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM login_failures WHERE subject = $1", &[&subject])
            .await?;
        Ok(())
    }

    /// Counts a request of an API key in its fixed window; returns the count including it.
    pub async fn count_request(
        &self,
        key_id: Uuid,
        window_start: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO rate_limit_windows (key_id, window_start, count) VALUES ($1, $2, 1)
                 ON CONFLICT (key_id, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
                 RETURNING count",
            )
            .await?;
        let count: i32 = client
            .query_one(&stmt, &[&key_id, &window_start])
            .await?
            .get(0);
        Ok(i64::from(count))
    }

    pub async fn store_contact_message(
        &self,
        name: &str,
        email: &str,
        message: &str,
        client_addr: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO contact_messages (id, name, email, message, client) VALUES ($1, $2, $3, $4, $5)",
                &[&Uuid::now_v7(), &name, &email, &message, &client_addr],
            )
            .await?;
        Ok(())
    }

    pub async fn recent_contact_messages(
        &self,
        client_addr: &str,
        window: Duration,
    ) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT count(*) FROM contact_messages WHERE client = $1 AND created_at > now() - $2 * interval '1 second'",
                &[&client_addr, &(window.num_seconds() as f64)],
            )
            .await?
            .get(0))
    }
}

impl Store {
    /// Sets a password hash directly (admin CLI `create-user --password`).
    pub async fn set_password(&self, user_id: Uuid, password_hash: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &password_hash],
            )
            .await?;
        Ok(())
    }
}

impl Store {
    /// Removes what has served its purpose: rate-limit windows and login failures older than a
    /// day, idempotency keys older than 24 hours, sessions and tokens expired for a week.
    pub async fn housekeeping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .batch_execute(
                "DELETE FROM rate_limit_windows WHERE window_start < now() - interval '1 day';
                 DELETE FROM login_failures WHERE at < now() - interval '1 day';
                 DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours';
                 DELETE FROM sessions WHERE expires_at < now() - interval '7 days';
                 DELETE FROM auth_tokens WHERE expires_at < now() - interval '7 days';",
            )
            .await?;
        Ok(())
    }
}

impl Store {
    /// Takes back an invite whose mail could not be sent (the membership is deactivated; inviting
    /// again reactivates it and sends a new mail).
    pub async fn withdraw_invite(&self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE memberships SET is_active = false, updated_at = now() WHERE tenant_id = $1 AND user_id = $2",
                &[&tenant_id, &user_id],
            )
            .await?;
        Ok(())
    }
}

/// One member of a tenant, read on `client` (a pooled connection or a transaction).
async fn member(
    client: &impl tokio_postgres::GenericClient,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Member, StoreError> {
    let row = client
        .query_opt(
            &format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2"),
            &[&tenant_id, &user_id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("user {user_id}")))?;
    Ok(member_from_row(&row))
}
