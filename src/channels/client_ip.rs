//! Who is asking, behind the city's proxy: the address every channel's per-source limiter keys
//! on. `X-Forwarded-For` is believed only from the proxies listed in `trusted_proxies`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// The client's address of a request: its peer and `X-Forwarded-For`, read by [`client_ip`].
pub fn of_request(parts: &Parts, trusted: &[IpAddr]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    client_ip(peer, &forwarded, trusted)
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy (entries further
/// left could have been written by the client).
pub fn client_ip(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut ip = peer;
    for hop in forwarded.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(addr) => {
                ip = addr;
                if !trusted.contains(&addr) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    ip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = [ip("10.0.0.2")];
        assert_eq!(
            client_ip(ip("203.0.113.9"), "1.2.3.4", &proxy),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), "1.2.3.4", &proxy), ip("1.2.3.4"));
        // A client-written entry on the left is ignored.
        assert_eq!(
            client_ip(ip("10.0.0.2"), "6.6.6.6, 1.2.3.4", &proxy),
            ip("1.2.3.4")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), "", &proxy), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("10.0.0.2"), "garbage", &proxy), ip("10.0.0.2"));
    }
}
