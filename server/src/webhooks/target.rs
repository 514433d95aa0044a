//! Where a webhook may go: a target URL is parsed, resolved and refused
//! unless every address is public (or the operator allows private ones);
//! the request then connects only to the vetted addresses
//! ([`PinnedResolver`]), so a second DNS answer cannot swap them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use super::delivery::AttemptError;

/// A target URL that passed the checks, and where it may connect.
#[derive(Debug)]
pub(super) struct Vetted {
    pub(super) url: Url,
    pub(super) addrs: Vec<SocketAddr>,
}

/// Parses and resolves `target`, refusing what it must not reach.
pub(super) async fn vet_target(target: &str, allow_private: bool) -> Result<Vetted, AttemptError> {
    use AttemptError::{Failed, Refused};

    let url = Url::parse(target).map_err(|e| Refused(format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Refused("no port".to_owned()))?;
    let addrs: Vec<SocketAddr> = match url.host() {
        None => return Err(Refused("no host".to_owned())),
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| Failed(format!("cannot resolve {name}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Failed("the host resolves to no address".to_owned()));
    }
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| !is_public_ip(a.ip())) {
            return Err(Refused(format!(
                "{} is not a public address (set webhook_allow_private to allow it)",
                bad.ip()
            )));
        }
    }
    Ok(Vetted { url, addrs })
}

/// A resolver that answers every name with the already vetted addresses.
pub(super) struct PinnedResolver(pub(super) Vec<SocketAddr>);

impl Resolve for PinnedResolver {
    fn resolve(&self, _name: Name) -> Resolving {
        let addrs = self.0.clone();
        Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
    }
}

/// Whether `ip` is an ordinary public unicast address, fit for a webhook
/// target. Refuses loopback, private, link-local, CGNAT, unspecified,
/// broadcast, multicast, benchmarking, documentation and reserved IPv4
/// ranges; for IPv6 only global unicast (`2000::/3`) passes, minus its
/// special blocks (documentation, 6to4, Teredo and other IETF
/// assignments), and IPv4 embedded as mapped (`::ffff:0:0/96`) or NAT64
/// (`64:ff9b::/96`) addresses is judged as IPv4.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", including 0.0.0.0
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 well-known prefix: the gateway would connect to the IPv4 inside.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [_, _, _, _, _, _, hi, lo] = s;
        let v4 = Ipv4Addr::new(
            (hi >> 8) as u8,
            (hi & 0xff) as u8,
            (lo >> 8) as u8,
            (lo & 0xff) as u8,
        );
        return is_public_v4(v4);
    }
    // Outside 2000::/3 are loopback, unspecified, IPv4-compatible, ULA
    // fc00::/7, link-local fe80::/10, site-local, multicast and the rest.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    let refused = match (s[0], s[1]) {
        // IETF protocol assignments 2001::/23, Teredo included.
        (0x2001, 0x0000..=0x01ff) => true,
        // Documentation 2001:db8::/32.
        (0x2001, 0x0db8) => true,
        // 6to4 2002::/16 embeds an arbitrary IPv4 address.
        (0x2002, _) => true,
        // Documentation 3fff::/20.
        (0x3fff, 0x0000..=0x0fff) => true,
        _ => false,
    };
    !refused
}

/// Scheme, host, port and path only: user info and query may hold secrets.
pub(super) fn redact(target: &str) -> String {
    match Url::parse(target) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            match url.port() {
                Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
                None => format!("{}://{host}{}", url.scheme(), url.path()),
            }
        }
        Err(_) if target.is_empty() => String::new(),
        Err(_) => "<invalid URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::Webhooks;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "11.0.0.1",
        ] {
            assert!(is_public_ip(v4(ip)), "{ip}");
        }
        for ip in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "2001:200::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "3fff:1000::1",
        ] {
            assert!(is_public_ip(v6(ip)), "{ip}");
        }
    }

    #[test]
    fn non_public_v4_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public_ip(v4(ip)), "{ip}");
        }
    }

    #[test]
    fn non_public_v6_refused() {
        for ip in [
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:192.168.0.1",
            "::ffff:100.64.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(!is_public_ip(v6(ip)), "{ip}");
        }
    }

    #[tokio::test]
    async fn vetting_refuses_bad_targets() {
        for target in [
            "ftp://93.184.215.14/",
            "file:///etc/passwd",
            "not a url",
            "http://127.0.0.1:8080/hook",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
            "http://localhost:9/",
        ] {
            match vet_target(target, false).await {
                Err(AttemptError::Refused(_)) => {}
                other => panic!("{target}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn vetting_passes_public_and_allowed_private() {
        let ok = vet_target("https://93.184.215.14/hook", false)
            .await
            .unwrap();
        assert_eq!(ok.addrs, ["93.184.215.14:443".parse().unwrap()]);
        let ok = vet_target("http://127.0.0.1:8080/hook", true)
            .await
            .unwrap();
        assert_eq!(ok.addrs, ["127.0.0.1:8080".parse().unwrap()]);
        let ok = vet_target("http://localhost:8080/", true).await.unwrap();
        assert!(ok.addrs.iter().all(|a| a.ip().is_loopback()));
        // Private still refuses other schemes.
        assert!(matches!(
            vet_target("gopher://127.0.0.1/", true).await,
            Err(AttemptError::Refused(_))
        ));
    }

    #[test]
    fn redact_hides_credentials_and_query() {
        assert_eq!(
            redact("https://user:pw@hooks.example:8443/in?token=abc#x"),
            "https://hooks.example:8443/in"
        );
        assert_eq!(redact("http://h.example/"), "http://h.example/");
        assert_eq!(redact("nope"), "<invalid URL>");
        let hooks = Webhooks::new("https://u:p@h.example/", "top-secret", false);
        let debug = format!("{hooks:?}");
        assert!(
            !debug.contains("top-secret") && !debug.contains("u:p"),
            "{debug}"
        );
    }
}
