//! Scopes of API keys, roles of users, and the rate-limit tiers of keys: pure tables.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Resources that scopes name; `resource:read` allows GET/HEAD, `resource:write` the rest,
/// `resource:*` both, `*` everything. `periods:lock` is needed to request or approve a lock.
pub const RESOURCES: &[&str] = &[
    "accounts",
    "journal",
    "tax_codes",
    "documents",
    "periods",
    "audit",
    "bank",
    "payments",
    "reports",
    "settings",
    "customers",
    "vendors",
    "invoices",
    // The inbox, OCR, review cases and the ingestion log (issue 14).
    "inbox",
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
                    && (matches!(action, "read" | "write" | "*")
                        || (resource == "periods" && action == "lock"))
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

/// True when a key with `scopes` may do `scope` (`*`, the scope itself, or `resource:*`).
pub fn scopes_allow(scopes: &[String], scope: &str) -> bool {
    let resource = scope.split(':').next().unwrap_or(scope);
    scopes
        .iter()
        .any(|s| s == "*" || s == scope || (s.strip_suffix(":*") == Some(resource)))
}

/// A user's role in a tenant. On the wire and in the database: `owner`, `accountant`,
/// `auditor`, `viewer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Accountant,
    Auditor,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Accountant, Role::Auditor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Accountant => "accountant",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// The role named `name` (exactly, lower case), or None.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// What each role may do. `owner` and `accountant` may read and write everything (owners
    /// alone manage users, keys and webhooks); `auditor` reads everything including the audit
    /// log; `viewer` reads everything but the audit log. The tenant's settings (DATEV numbers,
    /// VAT method) are for owners and accountants only.
    pub fn allows(self, scope: &str) -> bool {
        let (resource, action) = scope.split_once(':').unwrap_or((scope, ""));
        match self {
            Role::Owner | Role::Accountant => true,
            Role::Auditor => action == "read" && resource != "settings",
            Role::Viewer => action == "read" && resource != "audit" && resource != "settings",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::parse(s).ok_or_else(|| "role must be owner, accountant, auditor or viewer".into())
    }
}

/// The tier of keys made with the admin CLI: no rate limit.
pub const UNLIMITED: &str = "unlimited";

/// Requests per window for each API-key tier; a tier not listed (e.g. `unlimited`) has no limit.
#[derive(Debug, Clone)]
pub struct RateLimits(pub HashMap<String, (u32, u32)>);

impl Default for RateLimits {
    /// Seed 002's tiers: per 15 minutes, starter 100, professional 500, enterprise 2,000.
    fn default() -> Self {
        RateLimits(
            [
                ("starter", 100),
                ("professional", 500),
                ("enterprise", 2000),
            ]
            .into_iter()
            .map(|(t, n)| (t.to_string(), (n, 900)))
            .collect(),
        )
    }
}

impl RateLimits {
    /// Parses `starter=100/900,professional=500/900` (requests / window seconds).
    pub fn parse(text: &str) -> Result<RateLimits, String> {
        let mut map = HashMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tier, rest) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected tier=requests/seconds"))?;
            let (n, w) = rest
                .split_once('/')
                .ok_or_else(|| format!("{part:?}: expected tier=requests/seconds"))?;
            let n: u32 = n
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: requests must be a number"))?;
            let w: u32 = w
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: seconds must be a number"))?;
            if w == 0 {
                return Err(format!("{part:?}: the window must be at least 1 second"));
            }
            map.insert(tier.trim().to_string(), (n, w));
        }
        Ok(RateLimits(map))
    }

    pub fn tiers(&self) -> Vec<String> {
        let mut t: Vec<String> = self.0.keys().cloned().collect();
        t.push(UNLIMITED.into());
        t.sort();
        t
    }

    /// (requests, window seconds) of a tier; None: not limited.
    pub fn of(&self, tier: &str) -> Option<(u32, u32)> {
        self.0.get(tier).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scope_lists_are_checked() {
        assert!(validate_scopes(&v(&["*"])).is_ok());
        assert!(validate_scopes(&v(&["journal:read", "periods:lock", "invoices:*"])).is_ok());
        assert!(validate_scopes(&[]).is_err());
        assert!(validate_scopes(&v(&["journal"])).is_err());
        assert!(validate_scopes(&v(&["journal:lock"])).is_err());
        assert!(validate_scopes(&v(&["ledger:read"])).is_err());
        assert!(validate_scopes(&v(&["journal:read", "nope:*"])).is_err());
    }

    #[test]
    fn scopes_allow_themselves_their_resource_wildcard_and_star() {
        assert!(scopes_allow(&v(&["*"]), "audit:read"));
        assert!(scopes_allow(&v(&["journal:read"]), "journal:read"));
        assert!(!scopes_allow(&v(&["journal:read"]), "journal:write"));
        assert!(scopes_allow(&v(&["journal:*"]), "journal:write"));
        assert!(!scopes_allow(&v(&["journal:*"]), "accounts:read"));
        assert!(scopes_allow(&v(&["periods:lock"]), "periods:lock"));
        assert!(!scopes_allow(&v(&["periods:write"]), "periods:lock"));
    }

    #[test]
    fn roles_parse_exactly_and_keep_their_wire_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse(""), None);
        assert!("admin".parse::<Role>().is_err());
        let r: Role = serde_json::from_value(serde_json::json!("auditor")).unwrap();
        assert_eq!(r, Role::Auditor);
    }

    #[test]
    fn the_role_table() {
        for scope in [
            "journal:write",
            "audit:read",
            "periods:lock",
            "accounts:read",
        ] {
            assert!(Role::Owner.allows(scope));
            assert!(Role::Accountant.allows(scope));
        }
        assert!(Role::Auditor.allows("audit:read"));
        assert!(Role::Auditor.allows("journal:read"));
        assert!(!Role::Auditor.allows("journal:write"));
        assert!(!Role::Auditor.allows("periods:lock"));
        assert!(Role::Viewer.allows("journal:read"));
        assert!(!Role::Viewer.allows("audit:read"));
        assert!(!Role::Viewer.allows("journal:write"));
    }

    #[test]
    fn rate_limits_parse_and_list_their_tiers() {
        let r = RateLimits::parse("starter=3/3600, professional=10/60").unwrap();
        assert_eq!(r.of("starter"), Some((3, 3600)));
        assert_eq!(r.of(UNLIMITED), None);
        assert_eq!(r.tiers(), v(&["professional", "starter", "unlimited"]));
        assert!(RateLimits::parse("starter=3/0").is_err());
        assert!(RateLimits::parse("starter=3").is_err());
        assert!(RateLimits::parse("starter=x/10").is_err());
        assert_eq!(RateLimits::default().of("starter"), Some((100, 900)));
    }
}
