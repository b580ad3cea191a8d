//! The portal's pages: handlers translate forms into calls of the recovery service and render
//! its answers. No rule is decided here.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::web::{
    DEVICE, DRAFT, Errors, FIELD_MAX, HELP, HELP_STEP, PageCtx, RESULT, SECRET_MAX, Visitor,
    field_problems,
};
use crate::app::AppState;
use crate::clock::duration_ms;
use crate::domain::email::mask_address;
use crate::domain::secret::{random_token, token_digest};
use crate::guard::Source;
use crate::recovery::{
    ChangeOutcome, Destination, FieldError, LoginAttempt, LoginOutcome, PasswordForm,
    RegistrationForm, RegistrationOutcome, ResetOutcome, SendOutcome,
};
use crate::store::sessions;

// ---- templates --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage {
    p: PageCtx,
    title: String,
    errs: Errors,
    refused: bool,
    username_label: &'static str,
    /// What was typed in the username field, kept after a refusal (never the password).
    username: String,
}

#[derive(Template)]
#[template(path = "portal/change.html")]
struct ChangePage {
    p: PageCtx,
    title: String,
    errs: Errors,
    number: String,
    question: String,
}

#[derive(Template)]
#[template(path = "portal/account.html")]
struct AccountPage {
    p: PageCtx,
    title: String,
    /// Just back from the forced change: say the new password is saved.
    changed: bool,
    business: String,
    contact: String,
    email: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "portal/forgot.html")]
struct ForgotPage {
    p: PageCtx,
    title: String,
    errs: Errors,
    sent: bool,
    username_label: &'static str,
}

#[derive(Template)]
#[template(path = "portal/reset.html")]
struct ResetPage {
    p: PageCtx,
    title: String,
    errs: Errors,
    username: String,
    needs_question: bool,
    question: String,
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage {
    p: PageCtx,
    title: String,
    tone: Tone,
    paragraphs: Vec<String>,
    links: Vec<(String, String)>,
}

/// Whether a message page reports something done or something that went wrong: they look
/// and are announced differently (a status versus an alert, and "Error:" in the title).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Done,
    Problem,
    /// A problem a phone call to staff can solve: the staff phone and hours are shown.
    ProblemCallStaff,
}

impl Tone {
    fn of(status: StatusCode) -> Tone {
        if status.is_client_error() || status.is_server_error() {
            Tone::Problem
        } else {
            Tone::Done
        }
    }
    fn is_problem(self) -> bool {
        self != Tone::Done
    }
    fn call_staff(self) -> bool {
        self == Tone::ProblemCallStaff
    }
}

#[derive(Template)]
#[template(path = "portal/register.html")]
struct RegisterPage {
    p: PageCtx,
    title: String,
    errs: Errors,
    f: RegisterFields,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct RegisterFields {
    license_number: String,
    business_name: String,
    contact_name: String,
    phone: String,
    email: String,
    workers_comp_policy: String,
    workers_comp_expires: String,
    question: String,
}

#[derive(Template)]
#[template(path = "portal/help.html")]
struct HelpPage {
    p: PageCtx,
    title: String,
    errs: Errors,
    refused: bool,
}

#[derive(Template)]
#[template(path = "portal/help_choose.html")]
struct HelpChoosePage {
    p: PageCtx,
    title: String,
    email: Option<String>,
    /// The email on record bounced: say so, and why it is not offered.
    email_undeliverable: bool,
    phone: Option<String>,
}

// ---- forms (no Debug: they hold secrets) -----------------------------------------------------
// Passwords and answers are read straight into `SecretString`: the plain text lives only in
// the zeroized-on-drop secret from the moment the form is parsed.

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: SecretString,
    remember: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewPasswordForm {
    csrf: String,
    password: SecretString,
    confirm: SecretString,
    question: String,
    answer: SecretString,
    answer_again: SecretString,
}

impl NewPasswordForm {
    /// Control characters and over-long values, named per field.
    fn problems(&self) -> Vec<FieldError> {
        field_problems(&[
            ("password", self.password.expose_secret(), SECRET_MAX),
            ("confirm", self.confirm.expose_secret(), SECRET_MAX),
            ("question", &self.question, FIELD_MAX),
            ("answer", self.answer.expose_secret(), SECRET_MAX),
            (
                "answer_again",
                self.answer_again.expose_secret(),
                SECRET_MAX,
            ),
        ])
    }

    fn password_form(&self) -> PasswordForm {
        password_form(
            &self.password,
            &self.confirm,
            &self.question,
            &self.answer,
            &self.answer_again,
        )
    }
}

fn password_form(
    password: &SecretString,
    confirm: &SecretString,
    question: &str,
    answer: &SecretString,
    answer_again: &SecretString,
) -> PasswordForm {
    PasswordForm {
        password: password.clone(),
        confirm: confirm.clone(),
        question: Some(question.trim().to_string()).filter(|q| !q.is_empty()),
        answer: answer.clone(),
        answer_again: answer_again.clone(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    csrf: String,
    username: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SentQuery {
    sent: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangedQuery {
    changed: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterForm {
    csrf: String,
    license_number: String,
    business_name: String,
    contact_name: String,
    phone: String,
    email: String,
    workers_comp_policy: String,
    workers_comp_expires: String,
    password: SecretString,
    confirm: SecretString,
    question: String,
    answer: SecretString,
    answer_again: SecretString,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HelpForm {
    csrf: String,
    number: String,
    phone: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HelpSendForm {
    csrf: String,
    destination: String,
}

// ---- shared answers ---------------------------------------------------------------------------

fn username_label(st: &AppState) -> &'static str {
    super::web::username_label(st.settings.city.username)
}

/// A page of a few sentences: a success when `status` is 2xx, an error otherwise.
fn message(
    v: Visitor,
    st: &AppState,
    status: StatusCode,
    title_key: &str,
    paragraphs: Vec<String>,
    links: Vec<(&str, &str)>,
) -> Response {
    message_page(
        v,
        st,
        status,
        Tone::of(status),
        title_key,
        paragraphs,
        links,
    )
}

/// A message saying nothing could be done right now, with the way to reach staff.
fn refusal(
    v: Visitor,
    st: &AppState,
    status: StatusCode,
    title_key: &str,
    paragraphs: Vec<String>,
    links: Vec<(&str, &str)>,
) -> Response {
    message_page(
        v,
        st,
        status,
        Tone::ProblemCallStaff,
        title_key,
        paragraphs,
        links,
    )
}

fn message_page(
    v: Visitor,
    st: &AppState,
    status: StatusCode,
    tone: Tone,
    title_key: &str,
    paragraphs: Vec<String>,
    links: Vec<(&str, &str)>,
) -> Response {
    let links = links
        .into_iter()
        .map(|(href, key)| (href.to_string(), v.tr.t(key).to_string()))
        .collect();
    let page = MessagePage {
        p: v.page(st, None),
        title: v.tr.t(title_key).to_string(),
        tone,
        paragraphs,
        links,
    };
    v.render(status, page)
}

/// Any path the portal does not know: the portal's own page, in the visitor's language.
pub async fn not_found(State(st): State<AppState>, v: Visitor) -> Response {
    let text = v.tr.t("not_found").to_string();
    message(
        v,
        &st,
        StatusCode::NOT_FOUND,
        "not_found_title",
        vec![text],
        vec![("/login", "sign_in"), ("/help", "help_link")],
    )
}

/// A known path asked with a method it does not take (axum adds the `Allow` header).
pub async fn method_not_allowed(State(st): State<AppState>, v: Visitor) -> Response {
    let text = v.tr.t("method_not_allowed").to_string();
    message(
        v,
        &st,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed_title",
        vec![text],
        vec![("/login", "sign_in"), ("/help", "help_link")],
    )
}

fn csrf_failed(v: Visitor, st: &AppState) -> Response {
    let text = v.tr.t("csrf_failed").to_string();
    message(
        v,
        st,
        StatusCode::FORBIDDEN,
        "error_title",
        vec![text],
        vec![],
    )
}

fn bad_form(v: Visitor, st: &AppState, rejection: &FormRejection) -> Response {
    tracing::info!(reason = %rejection.body_text(), "unreadable form");
    let text = v.tr.t("bad_request").to_string();
    message(
        v,
        st,
        StatusCode::BAD_REQUEST,
        "error_title",
        vec![text],
        vec![],
    )
}

fn invalid_link(mut v: Visitor, st: &AppState) -> Response {
    v.clear_reset_token();
    let text = v.tr.t("invalid_link").to_string();
    message(
        v,
        st,
        StatusCode::GONE,
        "invalid_link_title",
        vec![text],
        vec![("/forgot", "request_new_link"), ("/help", "help_link")],
    )
}

/// Unpacks a form or answers 400/403 for a broken one or a bad CSRF token.
macro_rules! form_or_answer {
    ($v:ident, $st:ident, $form:ident) => {
        match $form {
            Ok(Form(f)) => {
                if !$v.csrf_ok(&f.csrf) {
                    return Ok(csrf_failed($v, &$st));
                }
                f
            }
            Err(rejection) => return Ok(bad_form($v, &$st, &rejection)),
        }
    };
}

mod change;
mod failure;
mod forgot;
mod kiosk;
mod not_me;
mod register;
mod reset;
mod sign_in;

pub use change::*;
pub use failure::{Page, PageError, render_failures};
pub use forgot::*;
pub use kiosk::*;
pub use not_me::*;
pub use register::*;
pub use reset::*;
pub use sign_in::*;

// ---- static -----------------------------------------------------------------------------------

pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../../../templates/portal/portal.css"),
    )
        .into_response()
}
