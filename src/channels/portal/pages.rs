//! The portal's pages: handlers translate forms into calls of the recovery service and render
//! its answers. No rule is decided here.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::web::{
    DEVICE, DRAFT, Errors, FIELD_MAX, HELP, HELP_STEP, PageCtx, RESULT, SECRET_MAX, Visitor,
    field_problems,
};
use crate::app::AppState;
use crate::clock::duration_ms;
use crate::domain::channel::Channel;
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
    phone: Option<String>,
}

// ---- forms (no Debug: they hold secrets) -----------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: String,
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
    password: String,
    confirm: String,
    question: String,
    answer: String,
    answer_again: String,
}

impl NewPasswordForm {
    /// Control characters and over-long values, named per field.
    fn problems(&self) -> Vec<FieldError> {
        field_problems(&[
            ("password", &self.password, SECRET_MAX),
            ("confirm", &self.confirm, SECRET_MAX),
            ("question", &self.question, FIELD_MAX),
            ("answer", &self.answer, SECRET_MAX),
            ("answer_again", &self.answer_again, SECRET_MAX),
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
    password: &str,
    confirm: &str,
    question: &str,
    answer: &str,
    answer_again: &str,
) -> PasswordForm {
    PasswordForm {
        password: SecretString::from(password.to_string()),
        confirm: SecretString::from(confirm.to_string()),
        question: Some(question.trim().to_string()).filter(|q| !q.is_empty()),
        answer: SecretString::from(answer.to_string()),
        answer_again: SecretString::from(answer_again.to_string()),
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
    password: String,
    confirm: String,
    question: String,
    answer: String,
    answer_again: String,
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

/// A failure of ours: logged in full, shown as a plain apology.
/// True when the error is the database being out of reach (down, closed, overloaded), not a
/// mistake of ours: those get a 503 "try again in a moment".
fn store_unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    let sql = match error.downcast_ref::<crate::recovery::RecoveryError>() {
        Some(crate::recovery::RecoveryError::Store(e)) => Some(e),
        _ => error.downcast_ref::<sqlx::Error>(),
    };
    matches!(
        sql,
        Some(
            sqlx::Error::PoolClosed
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed
        )
    )
}

pub(super) fn server_error(
    v: Visitor,
    st: &AppState,
    error: &(dyn std::error::Error + 'static),
) -> Response {
    if let Some(crate::recovery::RecoveryError::Hash(crate::hashing::HashError::Busy)) =
        error.downcast_ref()
    {
        // Too many passwords being checked at once (a flood): a clear "try again", not a 500.
        tracing::info!("refused: password hashing is busy");
        let text = v.tr.t("busy").to_string();
        return refusal(
            v,
            st,
            StatusCode::SERVICE_UNAVAILABLE,
            "error_title",
            vec![text],
            vec![],
        );
    }
    if store_unreachable(error) {
        tracing::error!(error = %error, "the database cannot be reached");
        let text = v.tr.t("unavailable").to_string();
        return refusal(
            v,
            st,
            StatusCode::SERVICE_UNAVAILABLE,
            "error_title",
            vec![text],
            vec![],
        );
    }
    tracing::error!(error = %error, "portal request failed");
    let text = v.tr.t("server_error").to_string();
    message(
        v,
        st,
        StatusCode::INTERNAL_SERVER_ERROR,
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
                    return csrf_failed($v, &$st);
                }
                f
            }
            Err(rejection) => return bad_form($v, &$st, &rejection),
        }
    };
}

// ---- sign in ----------------------------------------------------------------------------------

pub async fn login_page(State(st): State<AppState>, v: Visitor) -> Response {
    if v.session.is_some() {
        return v.redirect("/account");
    }
    login_form(v, &st, false, String::new())
}

fn login_form(v: Visitor, st: &AppState, refused: bool, username: String) -> Response {
    let page = LoginPage {
        p: v.page(st, None),
        title: v.tr.t("login_title").to_string(),
        errs: Errors::default(),
        refused,
        username_label: username_label(st),
        username,
    };
    v.render(StatusCode::OK, page)
}

/// The sign-in form with field problems (a control character, too long).
fn login_form_with(v: Visitor, st: &AppState, errs: Errors, typed: &str) -> Response {
    // A username with a problem is typed again; one that was fine is kept.
    let username = if errs.has("username") {
        String::new()
    } else {
        typed.to_string()
    };
    let page = LoginPage {
        p: v.page(st, None),
        title: v.tr.t("login_title").to_string(),
        errs,
        refused: false,
        username_label: username_label(st),
        username,
    };
    v.render(StatusCode::UNPROCESSABLE_ENTITY, page)
}

pub async fn login(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let problems = field_problems(&[
        ("username", &f.username, FIELD_MAX),
        ("password", &f.password, SECRET_MAX),
    ]);
    if !problems.is_empty() {
        let errs = Errors::from_codes(v.tr, &problems);
        return login_form_with(v, &st, errs, &f.username);
    }
    let device = v.cookie(DEVICE);
    let password = SecretString::from(f.password);
    let outcome = st
        .recovery_in(v.lang)
        .login(LoginAttempt {
            typed: &f.username,
            password: &password,
            source: &Source::Ip(v.ip),
            device: device.as_deref(),
        })
        .await;
    match outcome {
        Ok(LoginOutcome::Success {
            account_id,
            must_change,
            device,
        }) => {
            if let Err(e) = v
                .sign_in(&st, account_id, !f.remember.is_empty(), must_change)
                .await
            {
                return server_error(v, &st, &e);
            }
            v.set_device(device, st.recovery().device_lifetime());
            v.redirect(if must_change {
                "/login/change"
            } else {
                "/account"
            })
        }
        Ok(LoginOutcome::Refused) => login_form(v, &st, true, f.username),
        Err(e) => server_error(v, &st, &e),
    }
}

pub async fn logout(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Response {
    let _ = form_or_answer!(v, st, form);
    if let Err(e) = v.sign_out(&st).await {
        return server_error(v, &st, &e);
    }
    v.redirect("/login")
}

/// The signed-in account, or a redirect to sign in.
async fn account_of(
    st: &AppState,
    v: &Visitor,
) -> Result<
    Option<(
        String,
        crate::store::contractors::Contractor,
        crate::store::accounts::Account,
    )>,
    crate::recovery::RecoveryError,
> {
    match &v.session {
        Some(s) => {
            st.recovery_in(v.lang)
                .username_for_account(s.account_id)
                .await
        }
        None => Ok(None),
    }
}

pub async fn account(
    State(st): State<AppState>,
    v: Visitor,
    query: axum::extract::Query<ChangedQuery>,
) -> Response {
    let (username, c, a) = match account_of(&st, &v).await {
        Ok(Some(found)) => found,
        Ok(None) => return v.redirect("/login"),
        Err(e) => return server_error(v, &st, &e),
    };
    if a.must_change() {
        return v.redirect("/login/change");
    }
    let none = v.tr.t("none_on_record").to_string();
    let page = AccountPage {
        p: v.page(&st, Some(username)),
        title: v.tr.t("account_title").to_string(),
        changed: query.changed.is_some(),
        business: c.fields.business_name.clone(),
        contact: c.fields.contact_name.clone(),
        email: c.fields.email.as_deref().map_or(none.clone(), mask_address),
        phone: c.fields.phone.as_deref().map_or(none, mask_address),
    };
    v.render(StatusCode::OK, page)
}

// ---- Require Login Change ---------------------------------------------------------------------

pub async fn change_page(State(st): State<AppState>, v: Visitor) -> Response {
    change_form(st, v, None).await
}

async fn change_form(st: AppState, mut v: Visitor, submitted: Option<NewPasswordForm>) -> Response {
    let (username, c, a) = match account_of(&st, &v).await {
        Ok(Some(found)) => found,
        Ok(None) => return v.redirect("/login"),
        Err(e) => return server_error(v, &st, &e),
    };
    if !a.must_change() {
        return v.redirect("/account");
    }
    let Some(session) = v.session.clone() else {
        return v.redirect("/login");
    };
    // Only the sign-in that used the temporary password may choose the new one; an older
    // session (another browser, "remember me") is signed out instead.
    match st
        .recovery_in(v.lang)
        .may_change_password(&session.id_hash)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            if let Err(e) = v.sign_out(&st).await {
                return server_error(v, &st, &e);
            }
            return v.redirect("/login");
        }
        Err(e) => return server_error(v, &st, &e),
    }
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) if !f.problems().is_empty() => {
            (Errors::from_codes(v.tr, &f.problems()), String::new())
        }
        Some(f) => match st
            .recovery_in(v.lang)
            .change_forced(&session.id_hash, &f.password_form())
            .await
        {
            Ok(ChangeOutcome::Done { account_id }) => {
                // Every session ended with the change; this browser gets a fresh one.
                v.session = None;
                if let Err(e) = v.sign_in(&st, account_id, false, false).await {
                    return server_error(v, &st, &e);
                }
                return v.redirect("/account?changed=1");
            }
            Ok(ChangeOutcome::Fields(errors)) => (Errors::from_codes(v.tr, &errors), f.question),
            Ok(ChangeOutcome::NotThisSession) => return v.redirect("/login"),
            Err(e) => return server_error(v, &st, &e),
        },
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ChangePage {
        p: v.page(&st, Some(username)),
        title: v.tr.t("change_title").to_string(),
        errs,
        number: c.fields.contractor_number.clone(),
        question,
    };
    v.render(status, page)
}

pub async fn change(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    change_form(st, v, Some(f)).await
}

// ---- Forgot password --------------------------------------------------------------------------

pub async fn forgot_page(
    State(st): State<AppState>,
    v: Visitor,
    query: axum::extract::Query<SentQuery>,
) -> Response {
    let page = ForgotPage {
        p: v.page(&st, None),
        title: v.tr.t("forgot_title").to_string(),
        errs: Errors::default(),
        sent: query.sent.is_some(),
        username_label: username_label(&st),
    };
    v.render(StatusCode::OK, page)
}

/// The same redirect, after the same time, whatever was typed; the page it leads to can be
/// refreshed without sending anything again.
pub async fn forgot(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let problems = field_problems(&[("username", &f.username, FIELD_MAX)]);
    if !problems.is_empty() {
        let page = ForgotPage {
            p: v.page(&st, None),
            title: v.tr.t("forgot_title").to_string(),
            errs: Errors::from_codes(v.tr, &problems),
            sent: false,
            username_label: username_label(&st),
        };
        return v.render(StatusCode::UNPROCESSABLE_ENTITY, page);
    }
    if let Err(e) = st
        .recovery_in(v.lang)
        .request_reset(&f.username, &Source::Ip(v.ip))
        .await
    {
        return server_error(v, &st, &e);
    }
    v.redirect("/forgot?sent=1")
}

// ---- Reset link -------------------------------------------------------------------------------

/// Opening the emailed link: check the token, keep it in a short-lived cookie, and move to a
/// URL without it so it never sits in history or a referrer.
pub async fn reset_link(
    State(st): State<AppState>,
    mut v: Visitor,
    Path(token): Path<String>,
) -> Response {
    match st.recovery_in(v.lang).reset_target(&token).await {
        Ok(Some(_)) => {
            v.set_reset_token(token);
            v.redirect("/reset")
        }
        Ok(None) => invalid_link(v, &st),
        Err(e) => server_error(v, &st, &e),
    }
}

pub async fn reset_empty(State(st): State<AppState>, v: Visitor) -> Response {
    invalid_link(v, &st)
}

pub async fn reset_page(State(st): State<AppState>, v: Visitor) -> Response {
    let Some(token) = v.reset_token() else {
        return invalid_link(v, &st);
    };
    reset_form(st, v, token, None).await
}

async fn reset_form(
    st: AppState,
    mut v: Visitor,
    token: String,
    submitted: Option<NewPasswordForm>,
) -> Response {
    let target = match st.recovery_in(v.lang).reset_target(&token).await {
        Ok(Some(t)) => t,
        Ok(None) => return invalid_link(v, &st),
        Err(e) => return server_error(v, &st, &e),
    };
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) if !f.problems().is_empty() => {
            (Errors::from_codes(v.tr, &f.problems()), String::new())
        }
        Some(f) => match st
            .recovery_in(v.lang)
            .complete_reset(&token, &f.password_form())
            .await
        {
            Ok(ResetOutcome::Done) => {
                v.clear_reset_token();
                if let Some(s) = v.session.take() {
                    let _ = sessions::delete(st.store.pool(), &s.id_hash).await;
                }
                v.unset(super::web::SESSION);
                return done(v, "reset", "");
            }
            Ok(ResetOutcome::Invalid) => return invalid_link(v, &st),
            Ok(ResetOutcome::Fields(errors)) => (Errors::from_codes(v.tr, &errors), f.question),
            Err(e) => return server_error(v, &st, &e),
        },
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ResetPage {
        p: v.page(&st, None),
        title: v.tr.t("reset_title").to_string(),
        errs,
        username: target.username,
        needs_question: target.needs_question,
        question,
    };
    v.render(status, page)
}

pub async fn reset(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let Some(token) = v.reset_token() else {
        return invalid_link(v, &st);
    };
    reset_form(st, v, token, Some(f)).await
}

/// A form posted straight to the link's URL (clients that keep no cookie).
pub async fn reset_with_token(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    reset_form(st, v, token, Some(f)).await
}

// ---- This wasn't me ---------------------------------------------------------------------------

pub async fn not_me_page(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
) -> Response {
    match st.recovery_in(v.lang).not_me_valid(&token).await {
        Ok(true) => {
            let page = NotMePage {
                p: v.page(&st, None),
                title: v.tr.t("not_me_title").to_string(),
                token,
            };
            v.render(StatusCode::OK, page)
        }
        Ok(false) => invalid_link(v, &st),
        Err(e) => server_error(v, &st, &e),
    }
}

#[derive(Template)]
#[template(
    source = r#"{% extends "portal/base.html" %}{% block content %}<p>{{ p.tr.t("not_me_intro") }}</p>
<form method="post" action="/not-me/{{ token }}"><input type="hidden" name="csrf" value="{{ p.csrf }}"><button type="submit">{{ p.tr.t("not_me_button") }}</button></form>{% endblock %}"#,
    ext = "html"
)]
struct NotMePage {
    p: PageCtx,
    title: String,
    token: String,
}

pub async fn not_me(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Response {
    let _ = form_or_answer!(v, st, form);
    match st.recovery_in(v.lang).not_me(&token).await {
        Ok(true) => done(v, "frozen", ""),
        Ok(false) => invalid_link(v, &st),
        Err(e) => server_error(v, &st, &e),
    }
}

// ---- Setup an Account -------------------------------------------------------------------------

/// The fields kept (never the passwords or answers) when a registration comes back with
/// errors, so the page after the redirect, in either language, shows them again.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct RegisterDraft {
    fields: RegisterFields,
    /// (field, error code)
    errors: Vec<(String, String)>,
}

/// The registration form's fields, as names the page knows.
const REGISTER_FIELDS: [&str; 12] = [
    "license_number",
    "business_name",
    "contact_name",
    "phone",
    "email",
    "workers_comp_policy",
    "workers_comp_expires",
    "password",
    "confirm",
    "question",
    "answer",
    "answer_again",
];

pub async fn register_page(State(st): State<AppState>, v: Visitor) -> Response {
    let draft = match v.cookie(DRAFT) {
        Some(id) => load_draft(&st, &id).await,
        None => None,
    }
    .unwrap_or_default();
    let errors: Vec<FieldError> = draft
        .errors
        .iter()
        .filter_map(|(field, code)| {
            let field = REGISTER_FIELDS.iter().find(|f| **f == field.as_str())?;
            Some(FieldError::new(field, code_of(code)))
        })
        .collect();
    let page = RegisterPage {
        p: v.page(&st, None),
        title: v.tr.t("register_title").to_string(),
        errs: Errors::from_codes(v.tr, &errors),
        f: draft.fields,
    };
    v.render(StatusCode::OK, page)
}

/// The static code matching a stored one (codes come from a closed set).
fn code_of(code: &str) -> &'static str {
    super::i18n::ERROR_CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("required")
}

async fn load_draft(st: &AppState, id: &str) -> Option<RegisterDraft> {
    if id.len() != 64 {
        return None;
    }
    let row = sessions::get(st.store.pool(), &token_digest(id))
        .await
        .ok()??;
    if row.expires_at <= st.clock.now_ms() || row.account_id.is_some() {
        return None;
    }
    serde_json::from_str(&row.data).ok()
}

/// Keeps the draft server-side for a few minutes and sends the browser back to the form.
async fn redirect_with_draft(st: &AppState, mut v: Visitor, draft: &RegisterDraft) -> Response {
    let id = random_token(32);
    let now = st.clock.now_ms();
    let data = serde_json::to_string(draft).unwrap_or_default();
    let created = sessions::create(
        st.store.pool(),
        &sessions::NewSession {
            id_hash: &token_digest(&id),
            data: &data,
            expires_at: now + duration_ms(HELP_STEP),
            ..Default::default()
        },
        now,
    )
    .await;
    match created {
        Ok(()) => {
            v.set(DRAFT, id, Some(HELP_STEP));
            v.redirect("/register")
        }
        Err(e) => server_error(v, st, &e),
    }
}

pub async fn register(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    v.unset(DRAFT);
    let mut problems = field_problems(&[
        ("license_number", &f.license_number, FIELD_MAX),
        ("business_name", &f.business_name, FIELD_MAX),
        ("contact_name", &f.contact_name, FIELD_MAX),
        ("phone", &f.phone, FIELD_MAX),
        ("email", &f.email, FIELD_MAX),
        ("workers_comp_policy", &f.workers_comp_policy, FIELD_MAX),
        ("workers_comp_expires", &f.workers_comp_expires, FIELD_MAX),
        ("password", &f.password, SECRET_MAX),
        ("confirm", &f.confirm, SECRET_MAX),
        ("question", &f.question, FIELD_MAX),
        ("answer", &f.answer, SECRET_MAX),
        ("answer_again", &f.answer_again, SECRET_MAX),
    ]);
    let registration = RegistrationForm {
        license_number: f.license_number.clone(),
        business_name: f.business_name.clone(),
        contact_name: f.contact_name.clone(),
        phone: f.phone.clone(),
        email: f.email.clone(),
        workers_comp_policy: f.workers_comp_policy.clone(),
        workers_comp_expires: f.workers_comp_expires.clone(),
        password: password_form(
            &f.password,
            &f.confirm,
            &f.question,
            &f.answer,
            &f.answer_again,
        ),
    };
    let outcome = if problems.is_empty() {
        st.recovery_in(v.lang)
            .register(&registration, &Source::Ip(v.ip))
            .await
    } else {
        Ok(Err(std::mem::take(&mut problems)))
    };
    match outcome {
        Ok(Ok(RegistrationOutcome::SetupSent { to, by })) => match by {
            Destination::Email => done(v, "setup_email", &to),
            Destination::Sms => done(v, "setup_sms", &to),
        },
        Ok(Ok(RegistrationOutcome::SetupTooSoon)) => done(v, "setup_soon", ""),
        Ok(Ok(RegistrationOutcome::Pending { ticket })) => done(v, "pending", &ticket.to_string()),
        Ok(Err(errors)) => {
            // Control characters are not kept: the contractor types those fields again.
            let keep = |name: &str, value: String| {
                if errors
                    .iter()
                    .any(|e| e.field == name && e.code == "control_chars")
                {
                    String::new()
                } else {
                    value
                }
            };
            let draft = RegisterDraft {
                fields: RegisterFields {
                    license_number: keep("license_number", f.license_number),
                    business_name: keep("business_name", f.business_name),
                    contact_name: keep("contact_name", f.contact_name),
                    phone: keep("phone", f.phone),
                    email: keep("email", f.email),
                    workers_comp_policy: keep("workers_comp_policy", f.workers_comp_policy),
                    workers_comp_expires: keep("workers_comp_expires", f.workers_comp_expires),
                    question: keep("question", f.question),
                },
                errors: errors
                    .iter()
                    .map(|e| (e.field.to_string(), e.code.to_string()))
                    .collect(),
            };
            redirect_with_draft(&st, v, &draft).await
        }
        Err(e) => server_error(v, &st, &e),
    }
}

// ---- Kiosk: I can't log in --------------------------------------------------------------------

pub async fn help_page(State(st): State<AppState>, v: Visitor) -> Response {
    help_form(v, &st, false)
}

fn help_form(v: Visitor, st: &AppState, refused: bool) -> Response {
    let page = HelpPage {
        p: v.page(st, None),
        title: v.tr.t("help_title").to_string(),
        errs: Errors::default(),
        refused,
    };
    v.render(StatusCode::OK, page)
}

/// Step one: contractor or license number and the phone on record. A match is kept on the
/// server and the browser is sent on to the choice (post/redirect/get, so switching language
/// or refreshing keeps the contractor's place).
pub async fn help(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<HelpForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let problems = field_problems(&[
        ("number", &f.number, FIELD_MAX),
        ("phone", &f.phone, FIELD_MAX),
    ]);
    if !problems.is_empty() {
        let page = HelpPage {
            p: v.page(&st, None),
            title: v.tr.t("help_title").to_string(),
            errs: Errors::from_codes(v.tr, &problems),
            refused: false,
        };
        return v.render(StatusCode::UNPROCESSABLE_ENTITY, page);
    }
    let recovery = st.recovery_in(v.lang);
    let verified = match recovery
        .verify_identity(&f.number, &f.phone, &Source::Ip(v.ip))
        .await
    {
        Ok(Some(found)) => found,
        Ok(None) => return help_form(v, &st, true),
        Err(e) => return server_error(v, &st, &e),
    };
    match recovery.hold_verification(&verified).await {
        Ok(id) => {
            v.set(HELP, id, Some(HELP_STEP));
            v.redirect("/help/choose")
        }
        Err(e) => server_error(v, &st, &e),
    }
}

fn help_expired(v: Visitor, st: &AppState) -> Response {
    let text = v.tr.t("help_expired").to_string();
    message(
        v,
        st,
        StatusCode::GONE,
        "help_title",
        vec![text],
        vec![("/help", "help_link")],
    )
}

/// Step two's page: where on record to send, from the verification kept on the server.
pub async fn help_choose(State(st): State<AppState>, v: Visitor) -> Response {
    let Some(id) = v.cookie(HELP) else {
        return help_expired(v, &st);
    };
    match st.recovery_in(v.lang).verification(&id).await {
        Ok(Some(verified)) => {
            let page = HelpChoosePage {
                p: v.page(&st, None),
                title: v.tr.t("help_title").to_string(),
                email: verified.email,
                phone: verified.phone,
            };
            v.render(StatusCode::OK, page)
        }
        Ok(None) => help_expired(v, &st),
        Err(e) => server_error(v, &st, &e),
    }
}

/// Step two: send to the chosen contact on record. The verification is used up by this one
/// send, even if the form is posted several times at once.
pub async fn help_send(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<HelpSendForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let Some(id) = v.cookie(HELP) else {
        return help_expired(v, &st);
    };
    let destination = match f.destination.as_str() {
        "sms" => Destination::Sms,
        _ => Destination::Email,
    };
    let sent = st
        .recovery_in(v.lang)
        .send_verified(&id, destination, &Source::Ip(v.ip), Channel::Web)
        .await;
    v.unset(HELP);
    let result = match sent {
        Ok(Some(SendOutcome::Sent { to })) => match destination {
            Destination::Email => format!("email:{to}"),
            Destination::Sms => format!("sms:{to}"),
        },
        Ok(Some(SendOutcome::TooSoon | SendOutcome::NoDestination)) => "none:".to_string(),
        Ok(None) => return help_expired(v, &st),
        Err(e) => return server_error(v, &st, &e),
    };
    let (kind, to) = result.split_once(':').unwrap_or(("none", ""));
    done(v, kind, to)
}

/// Ends a form's journey with post/redirect/get: what happened is kept in a short-lived
/// cookie (a kind and a masked destination or a reference number, nothing secret), and the
/// result page can be refreshed or switched to another language without losing it.
fn done(mut v: Visitor, kind: &str, detail: &str) -> Response {
    v.set(RESULT, format!("{kind}:{detail}"), Some(HELP_STEP));
    v.redirect("/done")
}

/// The result of the last form, from the cookie `done` set.
pub async fn result_page(State(st): State<AppState>, v: Visitor) -> Response {
    let result = v.cookie(RESULT).unwrap_or_default();
    let (kind, detail) = result.split_once(':').unwrap_or(("", ""));
    let detail = detail.to_string();
    let tr = v.tr;
    let back = vec![("/login", "back_to_sign_in")];
    let (title, paras) = match kind {
        "email" | "sms" => {
            let mut paras = vec![format!("{} {detail}.", tr.t("help_sent"))];
            if kind == "sms" {
                paras.push(tr.t("help_sent_next").to_string());
            }
            ("help_sent_title", paras)
        }
        "none" => {
            let text = tr.t("help_not_sent").to_string();
            return refusal(v, &st, StatusCode::OK, "help_title", vec![text], back);
        }
        "reset" => ("reset_done_title", vec![tr.t("reset_done").to_string()]),
        "frozen" => ("not_me_title", vec![tr.t("not_me_done").to_string()]),
        "setup_email" | "setup_sms" => (
            "register_setup_title",
            vec![
                format!("{} {detail}.", tr.t(&format!("register_{kind}"))),
                tr.t("register_setup_next").to_string(),
            ],
        ),
        "setup_soon" => (
            "register_setup_title",
            vec![tr.t("register_setup_too_soon").to_string()],
        ),
        "pending" if detail.bytes().all(|b| b.is_ascii_digit()) && !detail.is_empty() => (
            "register_pending_title",
            vec![format!("{} #{detail}.", tr.t("register_pending"))],
        ),
        _ => return help_expired(v, &st),
    };
    message(v, &st, StatusCode::OK, title, paras, back)
}

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
        include_str!("../../../templates/portal/portal.css"),
    )
        .into_response()
}
