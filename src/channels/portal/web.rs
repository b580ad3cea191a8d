//! Web plumbing of the portal pages: the visitor (language, CSRF token, session, source
//! address), its cookies and field errors. Cookie, CSRF and session rules shared with the
//! staff pages live in `channels::web_session`.

use std::net::IpAddr;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use crate::app::AppState;
use crate::clock::duration_ms;
use crate::config::UsernameKind;
use crate::domain::ids::AccountId;
use crate::domain::phone::PhoneNumber;
use crate::domain::questions::QUESTIONS;
use crate::messages::{Catalog, Lang};
use crate::recovery::FieldError;
use crate::store::sessions;

use crate::channels::web_session::{self as ws, cookie, removal};
pub use crate::channels::web_session::{
    ABSOLUTE, FIELD_MAX, IDLE, SECRET_MAX, field_problems, name,
};

/// With "Remember me".
pub const REMEMBERED: Duration = Duration::from_secs(30 * 24 * 3600);
/// A reset link's token is held in a cookie this long after the link is opened.
pub const RESET_COOKIE: Duration = Duration::from_secs(15 * 60);
/// A kiosk verification lasts this long.
pub const HELP_STEP: Duration = crate::recovery::VERIFICATION_LIFETIME;

pub const SESSION: &str = "helpline_session";
pub const LANG: &str = "helpline_lang";
pub const RESET: &str = "helpline_reset";
pub const HELP: &str = "helpline_help";
pub const DEVICE: &str = "helpline_device";
/// What the last form did (a kind and a masked destination), for the page after the redirect.
pub const RESULT: &str = "helpline_result";
/// A registration form sent back with errors, kept server-side.
pub const DRAFT: &str = "helpline_draft";

/// A signed-in contractor.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id_hash: String,
    pub account_id: AccountId,
}

/// Who is asking: what every portal handler needs before it does anything.
pub struct Visitor {
    pub lang: Lang,
    pub tr: &'static Catalog,
    /// The CSRF token forms carry: a keyed hash of this browser's cookie and its session, so
    /// a token is good only for this browser in this sign-in.
    pub csrf: String,
    csrf_seed: String,
    keys: crate::domain::keyed::Keys,
    pub ip: IpAddr,
    pub session: Option<SignedIn>,
    /// Cookies to set or remove with the response.
    pub jar: CookieJar,
    https: bool,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let https = ws::is_https(&st.settings.public_url);
        let mut jar = CookieJar::from_headers(&parts.headers);
        let ip = crate::channels::client_ip::of_request(parts, &st.settings.trusted_proxies);

        let asked = asked_lang(&parts.uri);
        let lang = request_lang(&parts.uri, &parts.headers, https);
        if let Some(l) = asked {
            jar = jar.add(cookie(
                LANG,
                l.code().to_string(),
                https,
                Some(REMEMBERED),
                SameSite::Lax,
            ));
        }

        let (seeded, csrf_seed) = ws::csrf_seed(jar, https);
        jar = seeded;

        let mut session = None;
        let mut store_error = None;
        if let Some(id) = jar
            .get(&name(SESSION, https))
            .map(|c| c.value().to_string())
        {
            match signed_in(st, &id).await {
                Ok(found) => session = found,
                Err(e) => store_error = Some(e),
            }
            if session.is_none() && store_error.is_none() {
                jar = jar.remove(removal(SESSION, https));
            }
        }

        let keys = st.keys.clone();
        let csrf = csrf_token(&keys, &csrf_seed, session.as_ref());
        let visitor = Visitor {
            lang,
            tr: Catalog::get(lang),
            csrf,
            csrf_seed,
            keys,
            ip,
            session,
            jar,
            https,
        };
        match store_error {
            // The store is down: a clear 503 page, never "you are signed out".
            Some(e) => Err(super::pages::PageError::from(e).into_response()),
            None => Ok(visitor),
        }
    }
}

/// The language a request asked for with `?lang=`, if any.
fn asked_lang(uri: &axum::http::Uri) -> Option<Lang> {
    Query::<LangQuery>::try_from_uri(uri)
        .ok()
        .and_then(|q| q.0.lang)
        .and_then(|l| Lang::from_code(&l))
}

/// A request's language: `?lang=`, else the language cookie, else `Accept-Language`, else
/// English.
pub fn request_lang(uri: &axum::http::Uri, headers: &axum::http::HeaderMap, https: bool) -> Lang {
    asked_lang(uri)
        .or_else(|| {
            CookieJar::from_headers(headers)
                .get(&name(LANG, https))
                .and_then(|c| Lang::from_code(c.value()))
        })
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En)
}

fn csrf_token(keys: &crate::domain::keyed::Keys, seed: &str, session: Option<&SignedIn>) -> String {
    ws::csrf_token(keys, seed, session.map(|s| s.id_hash.as_str()))
}

/// A contractor's live session (a staff session in this cookie is no contractor's).
async fn signed_in(st: &AppState, id: &str) -> Result<Option<SignedIn>, sqlx::Error> {
    let row = ws::live(st.store.pool(), st.clock.now_ms(), id, |row| {
        if row.remember != 0 { REMEMBERED } else { IDLE }
    })
    .await?;
    Ok(row.and_then(|row| {
        row.account_id.map(|account_id| SignedIn {
            id_hash: row.id_hash,
            account_id,
        })
    }))
}

impl Visitor {
    /// The page context for templates.
    pub fn page(&self, st: &AppState, user: Option<String>) -> PageCtx {
        PageCtx::new(st, self.lang, self.csrf.clone(), user)
    }

    /// True when the form's token was made for this browser's cookie and session.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        let bound = self.session.as_ref().map(|s| s.id_hash.as_str());
        ws::csrf_ok(&self.keys, &self.csrf_seed, bound, sent)
    }

    /// Sets a cookie with the response.
    pub fn set(&mut self, base: &str, value: String, max_age: Option<Duration>) {
        let jar = std::mem::take(&mut self.jar);
        self.jar = jar.add(cookie(base, value, self.https, max_age, SameSite::Lax));
    }

    /// Removes a cookie with the response.
    pub fn unset(&mut self, base: &str) {
        let jar = std::mem::take(&mut self.jar);
        self.jar = jar.remove(removal(base, self.https));
    }

    /// The value of one of our cookies.
    pub fn cookie(&self, base: &str) -> Option<String> {
        self.jar
            .get(&name(base, self.https))
            .map(|c| c.value().to_string())
    }

    /// The reset token cookie: scoped to /reset, `__Secure-` on https (a `__Host-` cookie
    /// must have path /).
    pub fn set_reset_token(&mut self, token: String) {
        let n = if self.https {
            format!("__Secure-{RESET}")
        } else {
            RESET.to_string()
        };
        let mut c = Cookie::build((n, token))
            .path("/reset")
            .http_only(true)
            .secure(self.https)
            .same_site(SameSite::Lax)
            .build();
        c.set_max_age(time::Duration::seconds(RESET_COOKIE.as_secs() as i64));
        let jar = std::mem::take(&mut self.jar);
        self.jar = jar.add(c);
    }

    pub fn reset_token(&self) -> Option<String> {
        let n = if self.https {
            format!("__Secure-{RESET}")
        } else {
            RESET.to_string()
        };
        self.jar.get(&n).map(|c| c.value().to_string())
    }

    pub fn clear_reset_token(&mut self) {
        let n = if self.https {
            format!("__Secure-{RESET}")
        } else {
            RESET.to_string()
        };
        let jar = std::mem::take(&mut self.jar);
        self.jar = jar.remove(
            Cookie::build((n, ""))
                .path("/reset")
                .secure(self.https)
                .http_only(true)
                .build(),
        );
    }

    /// Sends `response` with this visitor's cookie changes.
    pub fn respond(self, response: Response) -> Response {
        (self.jar, response).into_response()
    }

    /// Renders a template with `status`.
    pub fn render(self, status: StatusCode, page: impl Template) -> Response {
        let response = ws::render(status, page);
        self.respond(response)
    }

    /// A redirect (303, so a refresh does not resubmit the form).
    pub fn redirect(self, to: &str) -> Response {
        let response = ws::see_other(to);
        self.respond(response)
    }

    /// Creates a signed-in session with a fresh id (the old one, if any, is ended: no
    /// fixation). `may_change_password` marks the session that may make the forced change.
    pub async fn sign_in(
        &mut self,
        st: &AppState,
        account_id: AccountId,
        remember: bool,
        may_change_password: bool,
    ) -> Result<(), sqlx::Error> {
        let old = self.session.take();
        let now = st.clock.now_ms();
        let lifetime = if remember { REMEMBERED } else { ABSOLUTE };
        let (id, id_hash) = ws::start(
            st.store.pool(),
            now,
            old.as_ref().map(|s| s.id_hash.as_str()),
            sessions::NewSession {
                account_id: Some(account_id),
                remember,
                may_change_password,
                data: "{}",
                expires_at: now + duration_ms(lifetime),
                ..Default::default()
            },
        )
        .await?;
        self.set(SESSION, id, remember.then_some(REMEMBERED));
        self.session = Some(SignedIn {
            id_hash,
            account_id,
        });
        self.csrf = csrf_token(&self.keys, &self.csrf_seed, self.session.as_ref());
        Ok(())
    }

    /// Remembers this browser as one the contractor signed in from.
    pub fn set_device(&mut self, value: String, lifetime: Duration) {
        if !value.is_empty() {
            let jar = std::mem::take(&mut self.jar);
            self.jar = jar.add(cookie(
                DEVICE,
                value,
                self.https,
                Some(lifetime),
                SameSite::Strict,
            ));
        }
    }

    pub async fn sign_out(&mut self, st: &AppState) -> Result<(), sqlx::Error> {
        if let Some(old) = self.session.take() {
            sessions::delete(st.store.pool(), &old.id_hash).await?;
        }
        self.unset(SESSION);
        self.csrf = csrf_token(&self.keys, &self.csrf_seed, None);
        Ok(())
    }
}

/// The catalog key naming the username field: what this city calls its username.
pub fn username_label(kind: UsernameKind) -> &'static str {
    match kind {
        UsernameKind::ContractorNumber => "contractor_number",
        UsernameKind::LicenseNumber => "license_number",
    }
}

/// The Building Division's number, as a `tel:` target and as people write it.
pub struct StaffPhone {
    pub tel: String,
    pub shown: String,
}

/// What every page template gets.
pub struct PageCtx {
    pub tr: &'static Catalog,
    pub lang: &'static str,
    pub csrf: String,
    /// The username at the top right when signed in.
    pub user: Option<String>,
    pub city: String,
    /// Catalog key of the username field's label.
    pub username_label: &'static str,
    /// Where contractors reach staff (`staff.phone`), when configured.
    pub staff_phone: Option<StaffPhone>,
    /// When staff answer (`staff.office_hours` as written, else `staff.hours` in words), when
    /// configured.
    pub office_hours: Option<String>,
}

impl PageCtx {
    /// The context of a page in `lang`; `csrf` is the token its forms carry (empty for a page
    /// without forms), `user` the signed-in username shown at the top.
    pub fn new(st: &AppState, lang: Lang, csrf: String, user: Option<String>) -> PageCtx {
        let staff_phone = st
            .settings
            .staff_phone
            .as_deref()
            .and_then(|p| PhoneNumber::parse(p).ok())
            .map(|p| StaffPhone {
                tel: p.as_str().to_string(),
                shown: p.national(),
            });
        PageCtx {
            tr: Catalog::get(lang),
            lang: lang.code(),
            csrf,
            user,
            city: st.settings.city.name.clone(),
            username_label: username_label(st.settings.city.username),
            staff_phone,
            office_hours: st.hours.text(&st.settings, lang),
        }
    }

    /// The visible label of a form field, for the error summary. `password_label` is the
    /// password field's label on this page ("Password" or "New password").
    pub fn field_label(&self, field: &str, password_label: &str) -> &'static str {
        let key = match field {
            "username" => self.username_label,
            "password" if password_label == "new_password" => "new_password",
            "password" => "password",
            "confirm" => "confirm_password",
            "question" => "security_question",
            "answer" => "answer",
            "answer_again" => "answer_again",
            "license_number" => "license_number",
            "business_name" => "business",
            "contact_name" => "contact",
            "phone" => "phone",
            "email" => "email",
            "workers_comp_policy" => "workers_comp_policy",
            "workers_comp_expires" => "workers_comp_expires",
            "number" => "contractor_or_license",
            _ => "",
        };
        if key.is_empty() { "" } else { self.tr.t(key) }
    }

    /// Security questions in this page's language, with the selected one marked.
    pub fn question_options(&self, selected: &str) -> Vec<(&'static str, &'static str, bool)> {
        QUESTIONS
            .iter()
            .map(|(id, en, es)| {
                let text = if self.lang == "es" { *es } else { *en };
                (*id, text, *id == selected)
            })
            .collect()
    }
}

/// Field errors, worded in the page's language.
#[derive(Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn from_codes(tr: &Catalog, errors: &[FieldError]) -> Errors {
        Errors(errors.iter().map(|e| (e.field, tr.error(e.code))).collect())
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }
    pub fn get(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// One entry per field in error, in the order the errors were found (the form's order):
    /// the field's id and its messages joined, for the summary at the top of the page.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let mut fields: Vec<(&'static str, String)> = Vec::new();
        for (field, message) in &self.0 {
            match fields.iter_mut().find(|(f, _)| f == field) {
                Some((_, text)) => {
                    text.push(' ');
                    text.push_str(message);
                }
                None => fields.push((field, message.clone())),
            }
        }
        fields
    }
}
