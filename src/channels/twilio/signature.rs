//! Twilio's request signature (`X-Twilio-Signature`), computed and checked as Twilio's own
//! libraries do. Pure functions over strings: no HTTP, no settings, so the extractor, the
//! `simulate call` command (which signs as Twilio would) and tests share one definition.
//!
//! The signature is `base64(HMAC-SHA1(auth_token, url ++ k1 ++ v1 ++ k2 ++ v2 …))` where `url`
//! is the full URL Twilio requested (scheme, host, path and query, exactly as configured in
//! Twilio) and the `k`/`v` are the POST form parameters, decoded, sorted by name (byte order,
//! which for UTF-8 is code-point order; equal names by value). The URL is the one the city
//! configured — Helpline rebuilds it from `public_url`, never from the `Host` header, which a
//! caller controls.
//!
//! The port quirk: Twilio may sign `https://host/…` or `https://host:443/…` for the same
//! webhook, so [`verify`] accepts a signature over the URL as given, with the scheme's default
//! port (443 for https, 80 for http) removed, or with it added; a non-default port is never
//! removed or changed. The comparison is constant-time (`hmac`'s `verify_slice`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The header Twilio puts its signature in.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The MAC over `url` followed by the sorted parameters, keyed by the auth token.
fn mac_over<K: AsRef<str>, V: AsRef<str>>(
    auth_token: &str,
    url: &str,
    params: &[(K, V)],
) -> HmacSha1 {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    sorted.sort_unstable();
    let mut mac = match <HmacSha1 as KeyInit>::new_from_slice(auth_token.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of every length.
        Err(_) => unreachable!("HMAC accepts a key of any length"),
    };
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

/// The signature Twilio sends (base64) for a POST of `params` to `url`.
pub fn sign<K: AsRef<str>, V: AsRef<str>>(
    auth_token: &str,
    url: &str,
    params: &[(K, V)],
) -> String {
    STANDARD.encode(mac_over(auth_token, url, params).finalize().into_bytes())
}

/// True when `signature` (the header's base64 text) is Twilio's signature of `params` posted
/// to `url` or to one of its port variants (see [`url_variants`]). Constant-time per variant.
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    auth_token: &str,
    url: &str,
    params: &[(K, V)],
    signature: &str,
) -> bool {
    let Ok(claimed) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    // Every variant is checked, so the time taken says nothing about which one matched.
    url_variants(url).iter().fold(false, |ok, u| {
        mac_over(auth_token, u, params)
            .verify_slice(&claimed)
            .is_ok()
            | ok
    })
}

/// `url` as given, then without its scheme's default port, then with it (duplicates left out).
/// A URL with another port, or of another scheme, is only itself.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return out,
    };
    let start = scheme.len() + 3;
    let end = start + rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &url[start..end];
    // The port follows the last ':' after any user info and after an IPv6 literal's ']'.
    let host_from = authority.rfind('@').map_or(0, |i| i + 1);
    let port_search_from = authority[host_from..]
        .rfind(']')
        .map_or(host_from, |i| host_from + i + 1);
    let colon = authority[port_search_from..]
        .rfind(':')
        .map(|i| start + port_search_from + i);
    let (without, with) = match colon {
        Some(c) if &url[c + 1..end] == default_port => {
            (format!("{}{}", &url[..c], &url[end..]), url.to_string())
        }
        Some(_) => return out,
        None => (
            url.to_string(),
            format!("{}:{default_port}{}", &url[..end], &url[end..]),
        ),
    };
    for v in [without, with] {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const URL_443: &str = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    const SIG: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const SIG_443: &str = "kvajT1Ptam85bY51eRf/AJRuM3w=";

    /// Twilio's library test parameters, deliberately not in sorted order.
    fn params() -> Vec<(&'static str, &'static str)> {
        vec![
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
    }

    #[test]
    fn signs_twilios_own_vectors() {
        assert_eq!(sign(TOKEN, URL, &params()), SIG);
        assert_eq!(sign(TOKEN, URL_443, &params()), SIG_443);
    }

    #[test]
    fn each_port_form_accepts_both_signatures() {
        for url in [URL, URL_443] {
            for sig in [SIG, SIG_443] {
                assert!(verify(TOKEN, url, &params(), sig), "{url} with {sig}");
            }
        }
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut reversed = params();
        reversed.reverse();
        assert!(verify(TOKEN, URL, &reversed, SIG));
    }

    #[test]
    fn tampered_params_are_refused() {
        let mut changed = params();
        changed[1].1 = "1235";
        assert!(!verify(TOKEN, URL, &changed, SIG));
        let mut added = params();
        added.push(("Extra", ""));
        assert!(!verify(TOKEN, URL, &added, SIG), "an added parameter");
        let mut dropped = params();
        dropped.pop();
        assert!(!verify(TOKEN, URL, &dropped, SIG), "a dropped parameter");
    }

    #[test]
    fn tampered_urls_and_tokens_are_refused() {
        for url in [
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            "https://mycompany.com/myapp.php?bar=2&foo=1",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            "https://evil.example/myapp.php?foo=1&bar=2",
            "https://mycompany.com/myapp.php",
        ] {
            assert!(!verify(TOKEN, url, &params(), SIG), "{url}");
            assert!(!verify(TOKEN, url, &params(), SIG_443), "{url}");
        }
        assert!(!verify("12346", URL, &params(), SIG));
        assert!(!verify("", URL, &params(), SIG));
    }

    #[test]
    fn malformed_signatures_are_refused() {
        for sig in [
            "",
            "not base64!",
            "RSOYDt4T1cUTdK1PDd93",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=AAAA",
        ] {
            assert!(!verify(TOKEN, URL, &params(), sig), "{sig:?}");
        }
        let truncated = &STANDARD.encode(&STANDARD.decode(SIG).unwrap_or_default()[..10]);
        assert!(!verify(TOKEN, URL, &params(), truncated), "a truncated MAC");
    }

    #[test]
    fn port_variants_follow_the_scheme_default_only() {
        assert_eq!(url_variants(URL), [URL, URL_443]);
        assert_eq!(url_variants(URL_443), [URL_443, URL]);
        assert_eq!(
            url_variants("http://h.example/x"),
            ["http://h.example/x", "http://h.example:80/x"]
        );
        assert_eq!(
            url_variants("http://h.example:80"),
            ["http://h.example:80", "http://h.example"]
        );
        assert_eq!(
            url_variants("https://h.example:80/x"),
            ["https://h.example:80/x"],
            "80 is not https's default"
        );
        assert_eq!(
            url_variants("https://h.example:8443/x"),
            ["https://h.example:8443/x"]
        );
        assert_eq!(
            url_variants("https://[::1]/x?y=:443"),
            ["https://[::1]/x?y=:443", "https://[::1]:443/x?y=:443"]
        );
        assert_eq!(
            url_variants("https://u:p@h.example:443/"),
            ["https://u:p@h.example:443/", "https://u:p@h.example/"]
        );
        assert_eq!(url_variants("ftp://h.example/"), ["ftp://h.example/"]);
        assert_eq!(url_variants("no scheme"), ["no scheme"]);
    }

    #[test]
    fn unicode_values_sign_their_utf8_bytes() {
        let p = [("Body", "contraseña")];
        let sig = sign(TOKEN, URL, &p);
        assert!(verify(TOKEN, URL, &p, &sig));
        assert!(!verify(TOKEN, URL, &[("Body", "contrasena")], &sig));
    }
}
