//! The HTTP side: the address to listen on, the public URL Twilio calls and links point at, and
//! the reverse proxies whose `X-Forwarded-For` is believed.

use std::net::{IpAddr, SocketAddr};

use url::Url;

use super::sources::Layers;

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[
    ("HELPLINE_BIND", "bind"),
    ("HELPLINE_PUBLIC_URL", "public_url"),
];

pub(super) fn bind(c: &mut Layers<'_>, file: Option<String>) -> Option<SocketAddr> {
    let text = c
        .pick("bind", file)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    text.parse::<SocketAddr>()
        .map_err(|_| {
            c.problem(
                "bind",
                format!("'{text}' is not an address and port such as 0.0.0.0:8080"),
            )
        })
        .ok()
}

/// The public URL; by default `http://{bind}/`.
pub(super) fn public_url(
    c: &mut Layers<'_>,
    file: Option<String>,
    bind: Option<SocketAddr>,
) -> Option<Url> {
    match c.pick("public_url", file) {
        None => {
            let fallback = bind.map(|b| format!("http://{b}/"));
            fallback.and_then(|f| Url::parse(&f).ok())
        }
        Some(text) => match Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
            Ok(_) => {
                c.problem(
                    "public_url",
                    format!("'{text}' must be an http:// or https:// URL with a host"),
                );
                None
            }
            Err(e) => {
                c.problem("public_url", format!("'{text}' is not a URL ({e})"));
                None
            }
        },
    }
}

/// Every address listed; each one that is not an IP address is its own problem.
pub(super) fn trusted_proxies(c: &mut Layers<'_>, file: &[String]) -> Vec<IpAddr> {
    let mut proxies = Vec::new();
    for text in file {
        match text.trim().parse::<IpAddr>() {
            Ok(ip) => proxies.push(ip),
            Err(_) => c.problem(
                "trusted_proxies",
                format!("'{text}' is not an IP address such as 127.0.0.1"),
            ),
        }
    }
    proxies
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load_env, load_toml};

    #[test]
    fn the_public_url_defaults_to_the_bind_address() {
        let s = load_env(&[("HELPLINE_BIND", "127.0.0.1:9200")]).unwrap();
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:9200/");
    }

    #[test]
    fn a_public_url_needs_http_and_a_host() {
        let errs = load_env(&[("HELPLINE_PUBLIC_URL", "ftp://files.example")]).unwrap_err();
        assert_eq!(
            errs.to_string(),
            "configuration problem: public_url (HELPLINE_PUBLIC_URL): 'ftp://files.example' \
             must be an http:// or https:// URL with a host"
        );
    }

    #[test]
    fn each_bad_proxy_is_named_and_good_ones_are_kept() {
        let s = load_toml("trusted_proxies = [\" 10.0.0.1 \", \"::1\"]\n", &[]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        let errs =
            load_toml("trusted_proxies = [\"proxy\", \"10.0.0.1\", \"x\"]\n", &[]).unwrap_err();
        assert_eq!(errs.0.len(), 2, "{errs}");
        assert!(errs.0.iter().all(|p| p.key == "trusted_proxies"), "{errs}");
        assert!(
            errs.to_string().contains("'proxy' is not an IP address"),
            "{errs}"
        );
    }
}
