//! The staff pages: sign-in, sign-out, and the forms around them. Handlers translate forms
//! into calls of the staff desk (`crate::staff`) and render its answers; failures of ours
//! become a response in one place ([`PageError`]).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::web::{StaffVisitor, desk};
use crate::app::AppState;
use crate::channels::web_session::{self as ws, FIELD_MAX, SECRET_MAX, field_problems};
use crate::guard::Source;
use crate::hashing::HashError;
use crate::staff::{SignIn, StaffError};

/// What a page's answer is when this is the result of its handler.
pub type Page = Result<Response, PageError>;

/// A failure of ours (or of the database), never the staff member's mistake: logged once
/// here, answered with a short page and no detail.
#[derive(Debug)]
pub struct PageError(StatusCode);

impl From<StaffError> for PageError {
    fn from(e: StaffError) -> Self {
        match e {
            StaffError::Hash(HashError::Busy) => {
                tracing::info!("refused: password hashing is busy");
                Self(StatusCode::SERVICE_UNAVAILABLE)
            }
            StaffError::Store(e) => e.into(),
            StaffError::Hash(e) => {
                tracing::error!(error = %e, "staff request failed");
                Self(StatusCode::INTERNAL_SERVER_ERROR)
            }
            StaffError::Template(e) => {
                tracing::error!(error = %e, "staff request failed: template");
                Self(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl From<crate::recovery::RecoveryError> for PageError {
    fn from(e: crate::recovery::RecoveryError) -> Self {
        use crate::recovery::RecoveryError as E;
        match e {
            E::Store(e) => e.into(),
            E::Hash(e) => StaffError::Hash(e).into(),
            E::Template(e) => {
                tracing::error!(error = %e, "staff request failed: template");
                Self(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "staff request failed: database");
        Self(StatusCode::SERVICE_UNAVAILABLE)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let text = if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            "Helpline cannot do this right now. Please try again in a moment."
        } else {
            "Something went wrong on our side. Please try again."
        };
        ws::render(
            self.0,
            MessagePage {
                title: "Error".into(),
                problem: true,
                who: None,
                csrf: String::new(),
                message: text.into(),
            },
        )
    }
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    title: String,
    problem: bool,
    who: Option<String>,
    csrf: String,
    message: String,
    /// What was typed in the email field, kept after a refusal (never the password).
    email: String,
}

#[derive(Template)]
#[template(path = "staff/message.html")]
pub(super) struct MessagePage {
    pub title: String,
    pub problem: bool,
    pub who: Option<String>,
    pub csrf: String,
    pub message: String,
}

/// A page of one sentence: a problem unless `status` is 2xx.
pub(super) fn message(v: StaffVisitor, status: StatusCode, text: String) -> Response {
    let problem = !status.is_success();
    let page = MessagePage {
        title: if problem { "Cannot do that" } else { "Done" }.into(),
        problem,
        who: v.member.as_ref().map(|m| m.staff.name.clone()),
        csrf: v.csrf.clone(),
        message: text,
    };
    v.render(status, page)
}

/// Unpacks a form or answers 400 for a broken one and 403 for a bad CSRF token.
macro_rules! staff_form {
    ($v:ident, $form:ident) => {
        match $form {
            Ok(Form(f)) => {
                if !$v.csrf_ok(&f.csrf) {
                    return Ok(message(
                        $v,
                        StatusCode::FORBIDDEN,
                        "This form has expired or did not come from this page. Go back, \
                         reload the page and try again."
                            .into(),
                    ));
                }
                f
            }
            Err(rejection) => {
                tracing::info!(reason = %rejection.body_text(), "unreadable staff form");
                return Ok(message(
                    $v,
                    StatusCode::BAD_REQUEST,
                    "This form could not be read. Reload the page and try again.".into(),
                ));
            }
        }
    };
}
pub(super) use staff_form;

// No Debug: it holds the password.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: SecretString,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

/// The one refusal: the same for an unknown email, a wrong password, a disabled login and a
/// login waiting after failures.
const REFUSED: &str = "That email and password do not match a staff login that can sign in. \
                       Check them and try again; after several tries, wait a few minutes.";

fn login_form(v: StaffVisitor, status: StatusCode, message: &str, email: String) -> Response {
    let page = LoginPage {
        title: "Staff sign in".into(),
        problem: !message.is_empty(),
        who: None,
        csrf: v.csrf.clone(),
        message: message.into(),
        email,
    };
    v.render(status, page)
}

pub async fn login_page(v: StaffVisitor) -> Response {
    if v.member.is_some() {
        return v.redirect("/staff");
    }
    login_form(v, StatusCode::OK, "", String::new())
}

pub async fn login(
    State(st): State<AppState>,
    mut v: StaffVisitor,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Page {
    let f = staff_form!(v, form);
    let problems = field_problems(&[
        ("email", &f.email, FIELD_MAX),
        ("password", f.password.expose_secret(), SECRET_MAX),
    ]);
    if !problems.is_empty() {
        let text = "The email or password holds a control character or is too long.";
        return Ok(login_form(
            v,
            StatusCode::UNPROCESSABLE_ENTITY,
            text,
            String::new(),
        ));
    }
    let outcome = desk(&st)
        .sign_in(&f.email, &f.password, &Source::Ip(v.ip))
        .await?;
    Ok(match outcome {
        SignIn::Success(member) => {
            tracing::info!(staff_id = member.id, "staff signed in");
            v.sign_in(&st, member).await?;
            v.redirect("/staff")
        }
        SignIn::Refused => login_form(v, StatusCode::OK, REFUSED, f.email.trim().to_string()),
    })
}

pub async fn logout(
    State(st): State<AppState>,
    mut v: StaffVisitor,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Page {
    let _ = staff_form!(v, form);
    v.sign_out(&st).await?;
    Ok(v.redirect("/staff/login"))
}
