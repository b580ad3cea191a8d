//! A small browser for the portal: keeps cookies, sends forms with the CSRF token from its
//! cookie, never follows redirects (tests look at them).

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};

pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
    pub accept_language: Option<String>,
    /// Every Set-Cookie this browser was sent, oldest first.
    pub set_cookie_log: Vec<String>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
    /// The Set-Cookie header that sets (or removes) the cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&prefix))
    }
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            client: super::http(),
            base: base.to_string(),
            cookies: BTreeMap::new(),
            accept_language: None,
            set_cookie_log: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            self.set_cookie_log.push(text.to_string());
            let pair = text.split(';').next().unwrap_or("");
            let Some((name, val)) = pair.split_once('=') else {
                continue;
            };
            // As a browser does: a `__Host-` cookie without Secure and `Path=/`, or with a
            // Domain, is ignored, removal included, and so is a `__Secure-` one without
            // Secure. A test would see the cookie linger.
            let attrs: Vec<String> = text
                .split(';')
                .skip(1)
                .map(|a| a.trim().to_ascii_lowercase())
                .collect();
            if name.trim().starts_with("__Secure-") {
                assert!(
                    attrs.iter().any(|a| a == "secure"),
                    "a browser would ignore this __Secure- cookie: {text}"
                );
            }
            if name.trim().starts_with("__Host-") {
                assert!(
                    attrs.iter().any(|a| a == "secure")
                        && attrs.iter().any(|a| a == "path=/")
                        && !attrs.iter().any(|a| a.starts_with("domain=")),
                    "a browser would ignore this __Host- cookie: {text}"
                );
            }
            let expired = text.to_ascii_lowercase().contains("max-age=0")
                || text
                    .to_ascii_lowercase()
                    .contains("expires=thu, 01 jan 1970");
            if val.is_empty() || expired {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_string(), val.to_string());
            }
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let mut req = req.header(COOKIE, self.cookie_header());
        if let Some(l) = &self.accept_language {
            req = req.header("accept-language", l);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        self.absorb(&headers);
        let body = res.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.base);
        let req = self.client.get(url);
        self.send(req).await
    }

    /// The CSRF token a form of this browser carries now: read from a page, as a browser
    /// would (it is bound to the browser's cookie and its session, so it changes at sign-in).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/forgot").await;
        csrf_in(&page.body).expect("a form with a csrf field on /forgot")
    }

    /// Posts a form with this browser's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let owned: Vec<(String, String)> = all
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.post_raw(path, &owned).await
    }

    /// Posts exactly these fields. A form that ends its journey redirects to the result page
    /// (`/done`); like a browser, this follows that one redirect and returns the result.
    pub async fn post_raw(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let url = format!("{}{path}", self.base);
        let req = self.client.post(url).form(fields);
        let page = self.send(req).await;
        if page.status == 303 && page.location() == Some("/done") {
            return self.get("/done").await;
        }
        page
    }
}

/// The value of the first `csrf` hidden field in a page.
pub fn csrf_in(body: &str) -> Option<String> {
    let at = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &body[at..];
    Some(rest[..rest.find('"')?].to_string())
}
