//! [`OutboundGuard`]: which addresses frameflow may connect to for a user.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// An outbound address refused, or a name that does not resolve.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GuardError {
    #[error("{host} ({addr}) is a {what} address; frameflow does not connect there unless allowed_hosts names it")]
    Refused { host: String, addr: IpAddr, what: &'static str },
    #[error("{host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("'{0}' is not a URL frameflow fetches (http, https, rtsp or rtsps, with a host)")]
    BadUrl(String),
}

#[derive(Clone, Debug)]
enum Allowed {
    Name(String),
    Net(IpAddr, u8),
}

/// The outbound-request guard (`[frameflow] allowed_hosts`).
#[derive(Clone, Debug, Default)]
pub struct OutboundGuard {
    allowed: Arc<Vec<Allowed>>,
}

/// What kind of internal address `ip` is, if it is one.
fn internal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local (cloud metadata)")
            } else if v4.is_multicast() || v4.is_broadcast() {
                Some("multicast")
            } else if v4.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else {
                None
            }
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits as u32) };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

impl OutboundGuard {
    /// From `allowed_hosts`: host names, addresses and CIDR blocks (`10.0.0.0/8`).
    pub fn new(entries: &[String]) -> Result<OutboundGuard, String> {
        let mut allowed = Vec::new();
        for entry in entries {
            let entry = entry.trim();
            if let Some((net, bits)) = entry.split_once('/') {
                let ip: IpAddr = net.parse().map_err(|_| format!("allowed_hosts: '{entry}' is not a CIDR block"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits: u8 = bits.parse().ok().filter(|b| *b <= max).ok_or_else(|| format!("allowed_hosts: '{entry}' has a bad prefix length"))?;
                allowed.push(Allowed::Net(ip, bits));
            } else if let Ok(ip) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                allowed.push(Allowed::Net(ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else if !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
                allowed.push(Allowed::Name(entry.to_ascii_lowercase()));
            } else {
                return Err(format!("allowed_hosts: '{entry}' is not a host name, address or CIDR block"));
            }
        }
        Ok(OutboundGuard { allowed: Arc::new(allowed) })
    }

    fn names(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed.iter().any(|a| matches!(a, Allowed::Name(n) if *n == host))
    }

    /// Whether `host` (named so) may be reached at `ip`.
    pub fn check_addr(&self, host: &str, ip: IpAddr) -> Result<(), GuardError> {
        let Some(what) = internal(ip) else { return Ok(()) };
        if self.names(host) || self.allowed.iter().any(|a| matches!(a, Allowed::Net(n, b) if in_net(ip, *n, *b))) {
            return Ok(());
        }
        Err(GuardError::Refused { host: host.to_string(), addr: ip, what })
    }

    /// Resolves `host` and checks every address it gives (one refused address refuses the
    /// name: a name that mixes public and internal addresses is a rebinding trick).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
        let bare = host.trim_matches(['[', ']']);
        let looked_up = match bare.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![SocketAddr::new(ip, port)]),
            Err(_) => tokio::net::lookup_host((bare, port)).await.map(|a| a.collect()),
        };
        self.checked(host, looked_up)
    }

    fn checked(&self, host: &str, looked_up: std::io::Result<Vec<SocketAddr>>) -> Result<Vec<SocketAddr>, GuardError> {
        let addrs = looked_up.map_err(|e| GuardError::Unresolvable { host: host.to_string(), reason: e.to_string() })?;
        if addrs.is_empty() {
            return Err(GuardError::Unresolvable { host: host.to_string(), reason: "no addresses".into() });
        }
        for a in &addrs {
            self.check_addr(host, a.ip())?;
        }
        Ok(addrs)
    }

    /// The checks that need no DNS: a scheme frameflow fetches, a host, and a literal
    /// address that is allowed (names are checked when they resolve).
    pub fn check_url(&self, url: &url::Url) -> Result<(), GuardError> {
        if !matches!(url.scheme(), "http" | "https" | "rtsp" | "rtsps") {
            return Err(GuardError::BadUrl(url.to_string()));
        }
        match url.host() {
            None => Err(GuardError::BadUrl(url.to_string())),
            Some(url::Host::Ipv4(ip)) => self.check_addr(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_addr(&ip.to_string(), IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    /// An HTTP client whose every connection goes through this guard: names resolve through
    /// [`Self::resolve`], literal addresses and every redirect's target are checked, no
    /// proxy from the environment, at most 5 redirects.
    pub fn http_client(&self, timeout: std::time::Duration) -> reqwest::Client {
        self.client_builder(timeout).timeout(timeout).build().expect("an HTTP client with rustls builds")
    }

    /// [`Self::http_client`] for a body read as long as it keeps coming (a video read in
    /// order): `idle` bounds the connection and each wait for more, not the whole response.
    pub fn streaming_client(&self, idle: std::time::Duration) -> reqwest::Client {
        self.client_builder(idle).read_timeout(idle).build().expect("an HTTP client with rustls builds")
    }

    fn client_builder(&self, connect: std::time::Duration) -> reqwest::ClientBuilder {
        let guard = self.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("more than 5 redirects");
            }
            match guard.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        reqwest::Client::builder().dns_resolver(Arc::new(GuardedResolver(self.clone()))).redirect(redirects).no_proxy().connect_timeout(connect)
    }
}

struct GuardedResolver(OutboundGuard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let addrs = guard.resolve(name.as_str(), 0).await.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let none = OutboundGuard::default();
        for bad in ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5", "169.254.169.254", "224.0.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "100.64.0.1"] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(none.check_addr(bad, ip).is_err(), "{bad} should be refused");
        }
        assert!(none.check_addr("example.org", "93.184.216.34".parse().unwrap()).is_ok());
        let some = OutboundGuard::new(&["127.0.0.1".into(), "10.0.0.0/8".into(), "cam.example.org".into()]).unwrap();
        assert!(some.check_addr("127.0.0.1", "127.0.0.1".parse().unwrap()).is_ok());
        assert!(some.check_addr("x", "10.200.0.1".parse().unwrap()).is_ok());
        assert!(some.check_addr("x", "11.0.0.1".parse().unwrap()).is_ok(), "public");
        assert!(some.check_addr("CAM.example.org", "192.168.1.9".parse().unwrap()).is_ok(), "a named host may be internal");
        assert!(some.check_addr("x", "169.254.169.254".parse().unwrap()).is_err());
        assert!(OutboundGuard::new(&["10.0.0.0/40".into()]).is_err());
        assert!(OutboundGuard::new(&["bad host!".into()]).is_err());
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(none.check_url(&url("http://169.254.169.254/latest/meta-data")).is_err());
        assert!(none.check_url(&url("file:///etc/passwd")).is_err());
        assert!(none.check_url(&url("http://[::1]:80/")).is_err());
        assert!(none.check_url(&url("https://example.org/v.mp4")).is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let none = OutboundGuard::default();
        assert!(matches!(none.resolve("localhost", 80).await, Err(GuardError::Refused { .. })));
        let allowed = OutboundGuard::new(&["127.0.0.1".into(), "::1".into()]).unwrap();
        assert!(allowed.resolve("localhost", 80).await.is_ok());
    }
}
