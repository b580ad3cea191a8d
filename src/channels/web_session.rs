//! Browser plumbing shared by the portal (contractors) and the staff pages: cookie names
//! (`__Host-` on https), the CSRF token bound to a browser cookie and a session, session
//! lookup with idle and absolute limits, sign-in with a fresh id (no fixation), rendering and
//! the security headers. Each side keeps its own session cookie, so one browser may hold a
//! contractor's and a staff member's session at once; the rules for both are written here once.

use std::time::Duration;

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::clock::{Millis, duration_ms};
use crate::domain::keyed::Keys;
use crate::domain::secret::{random_token, token_digest};
use crate::recovery::FieldError;
use crate::store::sessions::{self, NewSession, Session};

/// Signed-in sessions without "Remember me": idle and absolute limits.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);

/// The browser's CSRF cookie: a random seed the tokens of its forms are made from.
pub const CSRF: &str = "helpline_csrf";

/// The longest a form field may be (characters); passwords and answers have their own.
pub const FIELD_MAX: usize = 200;
pub const SECRET_MAX: usize = 128;

/// Field problems that no form accepts: control characters (a NUL would reach the database)
/// and more than `max` characters. `fields` is (name, value, max).
pub fn field_problems(fields: &[(&'static str, &str, usize)]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (name, value, max) in fields {
        if value.chars().any(|c| c.is_control() && c != '\t') {
            errors.push(FieldError::new(name, "control_chars"));
        } else if value.chars().count() > *max {
            errors.push(FieldError::new(name, "too_long_field"));
        }
    }
    errors
}

/// The cookie's name: `__Host-` prefixed when the site is served over https.
pub fn name(base: &str, https: bool) -> String {
    if https {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// One of our cookies: HttpOnly, path `/`, `Secure` on https.
pub fn cookie(
    base: &str,
    value: String,
    https: bool,
    max_age: Option<Duration>,
    same_site: SameSite,
) -> Cookie<'static> {
    let mut c = Cookie::build((name(base, https), value))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(same_site)
        .build();
    if let Some(age) = max_age {
        c.set_max_age(time::Duration::seconds(
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    c
}

/// A removal must carry the same prefix rules as the cookie: a `__Host-` cookie is only
/// replaced by a `Secure` one with `Path=/`.
pub fn removal(base: &str, https: bool) -> Cookie<'static> {
    Cookie::build((name(base, https), ""))
        .path("/")
        .secure(https)
        .http_only(true)
        .build()
}

/// The browser's CSRF seed, read from its cookie, or made now and added to `jar`.
pub fn csrf_seed(jar: CookieJar, https: bool) -> (CookieJar, String) {
    match jar.get(&name(CSRF, https)).map(|c| c.value().to_string()) {
        Some(t) if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (jar, t),
        _ => {
            let t = random_token(16);
            let jar = jar.add(cookie(CSRF, t.clone(), https, None, SameSite::Strict));
            (jar, t)
        }
    }
}

/// The CSRF token forms carry: a keyed hash of the browser's seed and its session (`bound`,
/// the session's id hash, empty when signed out), so a token is good only for this browser
/// in this sign-in.
pub fn csrf_token(keys: &Keys, seed: &str, bound: Option<&str>) -> String {
    keys.csrf
        .tag(&[seed.as_bytes(), bound.unwrap_or("").as_bytes()])
}

/// True when `sent` was made by [`csrf_token`] for this seed and session.
pub fn csrf_ok(keys: &Keys, seed: &str, bound: Option<&str>, sent: &str) -> bool {
    keys.csrf
        .verify(&[seed.as_bytes(), bound.unwrap_or("").as_bytes()], sent)
}

/// The live session behind a cookie's value: the idle limit (`idle` of the row) and the
/// absolute limit applied, an expired one deleted, the last use noted at most once a minute.
/// A store that cannot be reached is an error, never "signed out".
pub async fn live(
    pool: &sqlx::AnyPool,
    now: Millis,
    id: &str,
    idle: impl Fn(&Session) -> Duration,
) -> Result<Option<Session>, sqlx::Error> {
    if id.len() != 64 {
        return Ok(None);
    }
    let digest = token_digest(id);
    let Some(row) = sessions::get(pool, &digest).await? else {
        return Ok(None);
    };
    if row.expires_at <= now || row.last_seen_at + duration_ms(idle(&row)) <= now {
        sessions::delete(pool, &digest).await?;
        return Ok(None);
    }
    if now - row.last_seen_at > 60_000 {
        sessions::touch(pool, &digest, now).await?;
    }
    Ok(Some(row))
}

/// Starts a session under a fresh id, ending `old` (the id hash of the session the browser
/// held, if any): an id planted before sign-in is never the signed-in one. Returns the id
/// for the cookie and its hash. `new.id_hash` is filled in here.
pub async fn start(
    pool: &sqlx::AnyPool,
    now: Millis,
    old: Option<&str>,
    new: NewSession<'_>,
) -> Result<(String, String), sqlx::Error> {
    if let Some(old) = old {
        sessions::delete(pool, old).await?;
    }
    let id = random_token(32);
    let id_hash = token_digest(&id);
    sessions::create(
        pool,
        &NewSession {
            id_hash: &id_hash,
            ..new
        },
        now,
    )
    .await?;
    Ok((id, id_hash))
}

/// A template rendered with `status`; a template that fails is logged and a bare 500.
pub fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// A redirect (303, so a refresh does not resubmit the form).
pub fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}

/// Security headers on every page: no inline script at all, no framing, no sniffing, no
/// referrer (reset pages must never leak their URL), nothing cached.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Whether the site is served over https (so cookies are `__Host-` and `Secure`).
pub fn is_https(public_url: &url::Url) -> bool {
    public_url.scheme() == "https"
}
