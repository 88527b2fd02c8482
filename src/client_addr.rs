//! The client's address. Behind the reverse proxy the README recommends,
//! every TCP peer is the proxy, so the peer address alone would put the
//! whole site in one rate-limit bucket. Only from peers named by
//! `--trusted-proxy` are the `Forwarded` (RFC 7239) and `X-Forwarded-For`
//! headers read; the client is the right-most hop that is not itself a
//! trusted proxy, since every hop to its left was written by the client
//! and proves nothing. From any other peer both headers are ignored.
//!
//! The serve loop stamps every request, the Socket.IO handshake included,
//! with a `ClientIp` before any route sees it.
//!
//! Limits count an IPv6 client by its /64 (`ClientIp::limit_key`): one
//! subscriber usually holds a whole /64 and can pick any address in it.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client's address, as decided by `TrustedProxies::client`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The address the serve loop stamped on a request (loopback for a
    /// request that did not come through it, as in unit tests).
    pub fn of(extensions: &axum::http::Extensions) -> Self {
        extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([127, 0, 0, 1])))
    }

    /// What limits count: an IPv4 address as is, an IPv6 address by its
    /// /64 (an IPv4-mapped IPv6 address is the IPv4 address).
    pub fn limit_key(self) -> IpAddr {
        match canonical(self.0) {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
        }
    }
}

/// The peers whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted, else
    /// the right-most forwarded hop that is not trusted. A hop that cannot
    /// be read (`unknown`, an obfuscated name, garbage) ends the walk at the
    /// last trusted hop: nothing to its left can be believed.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientIp {
        let mut client = canonical(peer);
        if self.0.is_empty() || !self.trusts(client) {
            return ClientIp(client);
        }
        for hop in forwarded_hops(headers).iter().rev() {
            let Some(hop) = parse_hop(hop) else { break };
            client = canonical(hop);
            if !self.trusts(client) {
                break;
            }
        }
        ClientIp(client)
    }
}

/// An IPv4-mapped IPv6 address as IPv4; every other address as is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarded hops, left (first proxy's client) to right (the hop
/// that reached the last proxy): the `for=` of every `Forwarded` element,
/// else every `X-Forwarded-For` entry. Repeated header lines are read in
/// order, as one list.
fn forwarded_hops(headers: &HeaderMap) -> Vec<&str> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim())
                })
                // An element without `for=` still counts as a hop, and
                // one nobody can read.
                .unwrap_or("")
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect()
}

/// One hop's address: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, quoted or not.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (v6, _port) = rest.split_once(']')?;
        return Ipv6Addr::from_str(v6).ok().map(IpAddr::V6);
    }
    let (v4, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    std::net::Ipv4Addr::from_str(v4).ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(trusted.client(ip("192.0.2.7"), &h).0, ip("192.0.2.7"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &h).0,
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client wrote the first entry itself; the proxies appended
        // the rest.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.5, 10.1.1.1")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h).0, ip("198.51.100.5"));
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.5"),
        ]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &h).0, ip("198.51.100.5"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_handles_ports_and_brackets() {
        let trusted = proxies(&["127.0.0.0/8"]);
        let h = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http, For=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.5"),
        ]);
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &h).0,
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("x-forwarded-for", "192.0.2.1:4711")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h).0, ip("192.0.2.1"));
    }

    #[test]
    fn an_unreadable_hop_leaves_the_last_trusted_one() {
        let trusted = proxies(&["127.0.0.0/8"]);
        for (value, client) in [
            ("unknown", "127.0.0.1"),
            ("_hidden", "127.0.0.1"),
            ("", "127.0.0.1"),
            ("1.2.3.4, not an address, 127.0.0.2", "127.0.0.2"),
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
            assert_eq!(
                trusted.client(ip("127.0.0.1"), &h).0,
                ip(client),
                "{value:?}"
            );
        }
    }

    #[test]
    fn limits_group_ipv6_by_64_and_unmap_ipv4() {
        assert_eq!(
            ClientIp(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).limit_key(),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            ClientIp(ip("::ffff:192.0.2.1")).limit_key(),
            ip("192.0.2.1")
        );
        assert_eq!(ClientIp(ip("192.0.2.1")).limit_key(), ip("192.0.2.1"));
    }
}
