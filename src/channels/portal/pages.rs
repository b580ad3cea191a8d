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

use super::web::{Errors, HELP, HELP_STEP, PageCtx, Visitor};
use crate::app::AppState;
use crate::clock::duration_ms;
use crate::domain::email::mask_address;
use crate::domain::secret::{random_token, token_digest};
use crate::guard::Source;
use crate::recovery::{
    Destination, LoginOutcome, PasswordForm, RegistrationForm, RegistrationOutcome, ResetOutcome,
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

#[derive(Default)]
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
fn server_error(v: Visitor, st: &AppState, error: &dyn std::fmt::Display) -> Response {
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

pub async fn login(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let outcome = st
        .recovery()
        .login(
            &f.username,
            &SecretString::from(f.password),
            &Source::Ip(v.ip),
        )
        .await;
    match outcome {
        Ok(LoginOutcome::Success {
            account_id,
            must_change,
        }) => {
            if let Err(e) = v.sign_in(&st, account_id, !f.remember.is_empty()).await {
                return server_error(v, &st, &e);
            }
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
        Some(s) => st.recovery().username_for_account(s.account_id).await,
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

async fn change_form(st: AppState, v: Visitor, submitted: Option<NewPasswordForm>) -> Response {
    let (username, c, a) = match account_of(&st, &v).await {
        Ok(Some(found)) => found,
        Ok(None) => return v.redirect("/login"),
        Err(e) => return server_error(v, &st, &e),
    };
    if !a.must_change() {
        return v.redirect("/account");
    }
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) => match st.recovery().change_forced(a.id, &f.password_form()).await {
            Ok(Ok(())) => return v.redirect("/account?changed=1"),
            Ok(Err(errors)) => (Errors::from_codes(v.tr, &errors), f.question),
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
    if let Err(e) = st
        .recovery()
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
    match st.recovery().reset_target(&token).await {
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
    let target = match st.recovery().reset_target(&token).await {
        Ok(Some(t)) => t,
        Ok(None) => return invalid_link(v, &st),
        Err(e) => return server_error(v, &st, &e),
    };
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) => match st
            .recovery()
            .complete_reset(&token, &f.password_form())
            .await
        {
            Ok(ResetOutcome::Done) => {
                v.clear_reset_token();
                if let Some(s) = v.session.take() {
                    let _ = sessions::delete(st.store.pool(), &s.id_hash).await;
                }
                v.unset(super::web::SESSION);
                let text = v.tr.t("reset_done").to_string();
                return message(
                    v,
                    &st,
                    StatusCode::OK,
                    "reset_done_title",
                    vec![text],
                    vec![("/login", "back_to_sign_in")],
                );
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
    match st.recovery().not_me_valid(&token).await {
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
    match st.recovery().not_me(&token).await {
        Ok(true) => {
            let text = v.tr.t("not_me_done").to_string();
            message(v, &st, StatusCode::OK, "not_me_title", vec![text], vec![])
        }
        Ok(false) => invalid_link(v, &st),
        Err(e) => server_error(v, &st, &e),
    }
}

// ---- Setup an Account -------------------------------------------------------------------------

pub async fn register_page(State(st): State<AppState>, v: Visitor) -> Response {
    let page = RegisterPage {
        p: v.page(&st, None),
        title: v.tr.t("register_title").to_string(),
        errs: Errors::default(),
        f: RegisterFields::default(),
    };
    v.render(StatusCode::OK, page)
}

pub async fn register(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
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
    match st
        .recovery()
        .register(&registration, &Source::Ip(v.ip))
        .await
    {
        Ok(Ok(RegistrationOutcome::Created { username })) => {
            let text = v.tr.t("register_created").to_string();
            message(
                v,
                &st,
                StatusCode::OK,
                "register_created_title",
                vec![text, username],
                vec![("/login", "sign_in")],
            )
        }
        Ok(Ok(RegistrationOutcome::Pending { ticket })) => {
            let text = format!("{} #{ticket}.", v.tr.t("register_pending"));
            message(
                v,
                &st,
                StatusCode::OK,
                "register_pending_title",
                vec![text],
                vec![("/login", "back_to_sign_in")],
            )
        }
        Ok(Err(errors)) => {
            let page = RegisterPage {
                p: v.page(&st, None),
                title: v.tr.t("register_title").to_string(),
                errs: Errors::from_codes(v.tr, &errors),
                f: RegisterFields {
                    license_number: f.license_number,
                    business_name: f.business_name,
                    contact_name: f.contact_name,
                    phone: f.phone,
                    email: f.email,
                    workers_comp_policy: f.workers_comp_policy,
                    workers_comp_expires: f.workers_comp_expires,
                    question: f.question,
                },
            };
            v.render(StatusCode::UNPROCESSABLE_ENTITY, page)
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

/// Step one: contractor or license number and the phone on record.
pub async fn help(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<HelpForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let verified = match st
        .recovery()
        .verify_identity(&f.number, &f.phone, &Source::Ip(v.ip))
        .await
    {
        Ok(Some(found)) => found,
        Ok(None) => return help_form(v, &st, true),
        Err(e) => return server_error(v, &st, &e),
    };
    // The verification lives server-side for a few minutes; the browser holds only its id.
    let id = random_token(32);
    let now = st.clock.now_ms();
    let data = serde_json::json!({ "help_contractor": verified.contractor_id }).to_string();
    if let Err(e) = sessions::create(
        st.store.pool(),
        &token_digest(&id),
        None,
        false,
        &data,
        now,
        now + duration_ms(HELP_STEP),
    )
    .await
    {
        return server_error(v, &st, &e);
    }
    v.set(HELP, id, Some(HELP_STEP));
    let page = HelpChoosePage {
        p: v.page(&st, None),
        title: v.tr.t("help_title").to_string(),
        email: verified.email,
        phone: verified.phone,
    };
    v.render(StatusCode::OK, page)
}

/// Step two: send to the chosen contact on record.
pub async fn help_send(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<HelpSendForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let Some(contractor_id) = help_contractor(&st, &v).await else {
        let text = v.tr.t("help_expired").to_string();
        return message(
            v,
            &st,
            StatusCode::GONE,
            "help_title",
            vec![text],
            vec![("/help", "help_link")],
        );
    };
    let destination = match f.destination.as_str() {
        "sms" => Destination::Sms,
        _ => Destination::Email,
    };
    // One send per verification.
    if let Some(id) = v.cookie(HELP) {
        let _ = sessions::delete(st.store.pool(), &token_digest(&id)).await;
    }
    v.unset(HELP);
    match st
        .recovery()
        .send_recovery(contractor_id, destination, "web")
        .await
    {
        Ok(Some(to)) => {
            let mut paras = vec![format!("{} {to}.", v.tr.t("help_sent"))];
            if destination == Destination::Sms {
                paras.push(v.tr.t("help_sent_next").to_string());
            }
            message(
                v,
                &st,
                StatusCode::OK,
                "help_sent_title",
                paras,
                vec![("/login", "back_to_sign_in")],
            )
        }
        Ok(None) => {
            let text = v.tr.t("help_not_sent").to_string();
            refusal(
                v,
                &st,
                StatusCode::OK,
                "help_title",
                vec![text],
                vec![("/login", "back_to_sign_in")],
            )
        }
        Err(e) => server_error(v, &st, &e),
    }
}

async fn help_contractor(st: &AppState, v: &Visitor) -> Option<i64> {
    let id = v.cookie(HELP)?;
    if id.len() != 64 {
        return None;
    }
    let row = sessions::get(st.store.pool(), &token_digest(&id))
        .await
        .ok()??;
    if row.expires_at <= st.clock.now_ms() || row.account_id.is_some() {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&row.data)
        .ok()?
        .get("help_contractor")?
        .as_i64()
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
