//! Which URLs a webhook may have, and which addresses a delivery may connect to. Loopback,
//! link-local, private, shared (CGNAT), unspecified, multicast, broadcast and reserved
//! addresses are refused (also inside IPv4-mapped, IPv4-compatible and NAT64 IPv6
//! addresses), so that nobody can make the service send requests into the operator's network.
//! The URL is checked at registration, and the resolved address again before every delivery,
//! which then connects to exactly the address that was checked (no DNS rebinding).

use crate::WebhookError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A webhook URL's parts, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The normalized URL.
    pub url: String,
    /// The host as in the URL (without brackets for IPv6).
    pub host: String,
    pub port: u16,
    /// Set when the host is an IP address literal.
    pub ip: Option<IpAddr>,
}

/// The form of a URL: http or https, a host, no user name or password, at most 2,000
/// characters. An IP literal must be public unless `allow_private`.
pub fn check_url(text: &str, allow_private: bool) -> Result<Target, WebhookError> {
    let bad = |reason: &str| WebhookError::InvalidUrl {
        reason: reason.to_string(),
    };
    if text.len() > 2000 {
        return Err(bad("at most 2000 characters"));
    }
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain a user name or password"));
    }
    let (host, ip) = match url.host() {
        None => return Err(bad("has no host")),
        Some(url::Host::Domain(d)) => (d.to_string(), None),
        Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| bad("has no port"))?;
    if let Some(ip) = ip {
        check_address(&host, ip, allow_private)?;
    }
    if !allow_private && ip.is_none() {
        let lower = host.to_ascii_lowercase();
        let lower = lower.trim_end_matches('.');
        if lower == "localhost" || lower.ends_with(".localhost") {
            return Err(WebhookError::UrlForbidden {
                host,
                address: "127.0.0.1".into(),
            });
        }
    }
    Ok(Target {
        url: url.to_string(),
        host,
        port,
        ip,
    })
}

/// An address a delivery may connect to.
pub fn check_address(host: &str, ip: IpAddr, allow_private: bool) -> Result<(), WebhookError> {
    if !allow_private && is_forbidden(ip) {
        return Err(WebhookError::UrlForbidden {
            host: host.to_string(),
            address: ip.to_string(),
        });
    }
    Ok(())
}

/// The address a delivery connects to, from what the host resolved to: the first allowed one.
/// None allowed (or none at all): refused.
pub fn pick_address(
    host: &str,
    resolved: &[IpAddr],
    allow_private: bool,
) -> Result<IpAddr, WebhookError> {
    if let Some(ip) = resolved
        .iter()
        .find(|ip| check_address(host, **ip, allow_private).is_ok())
    {
        return Ok(*ip);
    }
    match resolved.first() {
        Some(ip) => Err(WebhookError::UrlForbidden {
            host: host.to_string(),
            address: ip.to_string(),
        }),
        None => Err(WebhookError::InvalidUrl {
            reason: format!("{host} has no address"),
        }),
    }
}

/// At registration: refused when any address the host resolves to is not allowed (a name
/// that points into a private network even in part is no webhook target).
pub fn check_resolved(
    host: &str,
    resolved: &[IpAddr],
    allow_private: bool,
) -> Result<(), WebhookError> {
    for ip in resolved {
        check_address(host, *ip, allow_private)?;
    }
    Ok(())
}

/// True for an address that is not on the public internet.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => v4_forbidden(a),
        IpAddr::V6(a) => v6_forbidden(a),
    }
}

fn v4_forbidden(a: Ipv4Addr) -> bool {
    let [o0, o1, _, _] = a.octets();
    a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || o0 == 0 // "this network"
        || (o0 == 100 && (64..128).contains(&o1)) // shared address space (CGNAT)
        || (o0 == 192 && o1 == 0 && a.octets()[2] == 0) // IETF protocol assignments
        || (o0 == 198 && (o1 == 18 || o1 == 19)) // benchmarking
        || o0 >= 240 // reserved
}

fn v6_forbidden(a: Ipv6Addr) -> bool {
    let s = a.segments();
    if let Some(v4) = embedded_v4(a) {
        return v4_forbidden(v4);
    }
    a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard
}

/// The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or
/// NAT64 (64:ff9b::a.b.c.d) address.
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(tail);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(tail);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use journal::Rule;

    #[test]
    fn addresses() {
        for (text, forbidden) in [
            ("127.0.0.1", true),
            ("127.8.8.8", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("255.255.255.255", true),
            ("224.0.0.1", true),
            ("240.0.0.1", true),
            ("8.8.8.8", false),
            ("93.184.216.34", false),
            ("::1", true),
            ("::", true),
            ("fe80::1", true),
            ("fc00::1", true),
            ("fd12:3456::1", true),
            ("ff02::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("::127.0.0.1", true),
            ("64:ff9b::a9fe:a9fe", true),
            ("64:ff9b::808:808", false),
            ("2001:db8::1", true),
            ("2606:4700:4700::1111", false),
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_forbidden(ip), forbidden, "{text}");
        }
    }

    #[test]
    fn resolved_addresses() {
        let ips = |v: &[&str]| {
            v.iter()
                .map(|a| a.parse().unwrap())
                .collect::<Vec<IpAddr>>()
        };
        for (resolved, allow, pick, register) in [
            (ips(&["8.8.8.8"]), false, Ok("8.8.8.8"), Ok(())),
            (
                ips(&["10.0.0.1", "8.8.4.4"]),
                false,
                Ok("8.8.4.4"),
                Err("webhook_url_forbidden"),
            ),
            (
                ips(&["127.0.0.1"]),
                false,
                Err("webhook_url_forbidden"),
                Err("webhook_url_forbidden"),
            ),
            (ips(&["127.0.0.1"]), true, Ok("127.0.0.1"), Ok(())),
            (
                ips(&["::1", "fe80::1"]),
                false,
                Err("webhook_url_forbidden"),
                Err("webhook_url_forbidden"),
            ),
            (ips(&[]), false, Err("invalid_webhook_url"), Ok(())),
        ] {
            let got = pick_address("h.example", &resolved, allow)
                .map(|ip| ip.to_string())
                .map_err(|e| e.code());
            assert_eq!(got, pick.map(str::to_string), "{resolved:?}");
            assert_eq!(
                check_resolved("h.example", &resolved, allow).map_err(|e| e.code()),
                register,
                "{resolved:?}"
            );
        }
    }

    #[test]
    fn urls() {
        for (text, want) in [
            ("https://hooks.example.com/kontor", Ok(443)),
            ("http://hooks.example.com:8080/x?y=1", Ok(8080)),
            ("ftp://hooks.example.com/", Err("invalid_webhook_url")),
            ("hooks.example.com/x", Err("invalid_webhook_url")),
            (
                "https://user:pw@hooks.example.com/",
                Err("invalid_webhook_url"),
            ),
            ("http://", Err("invalid_webhook_url")),
            ("", Err("invalid_webhook_url")),
            ("http://127.0.0.1:9000/", Err("webhook_url_forbidden")),
            ("http://[::1]/", Err("webhook_url_forbidden")),
            (
                "http://169.254.169.254/latest/meta-data",
                Err("webhook_url_forbidden"),
            ),
            ("http://localhost:3000/", Err("webhook_url_forbidden")),
            ("http://LocalHost./", Err("webhook_url_forbidden")),
            ("http://api.localhost/", Err("webhook_url_forbidden")),
            ("http://0x7f000001/", Err("webhook_url_forbidden")),
            ("http://2130706433/", Err("webhook_url_forbidden")),
            ("http://8.8.8.8/", Ok(80)),
        ] {
            let got = check_url(text, false).map(|t| t.port).map_err(|e| e.code());
            assert_eq!(got, want, "{text}");
        }
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok());
        assert!(check_url("http://localhost:9000/", true).is_ok());
    }
}
