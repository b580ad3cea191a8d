//! Failures no page answers itself, turned into a response in one place. Handlers return
//! [`Page`] and use `?` on the recovery service and the store; the error is classified and
//! logged once, here, and [`render_failures`] draws it as the portal's own page in the
//! request's language:
//! - the hasher is busy (a flood of sign-ins): 503 "try again in a moment";
//! - the database cannot be reached: 503, logged as an error — never turned into "signed out"
//!   or "link expired";
//! - anything else: a logged 500 with a plain apology.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{MessagePage, Tone};
use crate::app::AppState;
use crate::channels::portal::web::{PageCtx, request_lang};
use crate::hashing::HashError;
use crate::recovery::RecoveryError;

/// What a page's answer is when this is the result of its handler.
pub type Page = Result<Response, PageError>;

/// The kind of failure, carried from the handler to [`render_failures`] in the response's
/// extensions (nothing of the error itself: that was logged when it was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Busy,
    Unavailable,
    Internal,
}

/// A failure of ours (or of the database), never the contractor's mistake.
#[derive(Debug)]
pub struct PageError(Failure);

impl PageError {
    fn classify(error: &(dyn std::error::Error + 'static)) -> Self {
        if let Some(RecoveryError::Hash(HashError::Busy)) = error.downcast_ref() {
            tracing::info!("refused: password hashing is busy");
            return Self(Failure::Busy);
        }
        if store_unreachable(error) {
            tracing::error!(error = %error, "the database cannot be reached");
            return Self(Failure::Unavailable);
        }
        tracing::error!(error = %error, "portal request failed");
        Self(Failure::Internal)
    }
}

impl From<RecoveryError> for PageError {
    fn from(e: RecoveryError) -> Self {
        Self::classify(&e)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        Self::classify(&e)
    }
}

/// True when the error is the database being out of reach (down, closed, overloaded), not a
/// mistake of ours.
fn store_unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    let sql = match error.downcast_ref::<RecoveryError>() {
        Some(RecoveryError::Store(e)) => Some(e),
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

impl Failure {
    fn status(self) -> StatusCode {
        match self {
            Failure::Busy | Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Catalogue key of the sentence shown.
    fn text_key(self) -> &'static str {
        match self {
            Failure::Busy => "busy",
            Failure::Unavailable => "unavailable",
            Failure::Internal => "server_error",
        }
    }
}

impl IntoResponse for PageError {
    /// A bare answer marked with the failure; [`render_failures`] replaces it with the page.
    fn into_response(self) -> Response {
        let mut response = (self.0.status(), "Something went wrong.\n").into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}

/// Draws every failure a handler (or the visitor's extraction) returned as the portal's page,
/// in the language the request asked for. The page offers no forms, and a busy or unreachable
/// service shows how to reach staff.
pub async fn render_failures(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let https = st.settings.public_url.scheme() == "https";
    let lang = request_lang(req.uri(), req.headers(), https);
    let response = next.run(req).await;
    let Some(failure) = response.extensions().get::<Failure>().copied() else {
        return response;
    };
    let p = PageCtx::new(&st, lang, String::new(), None);
    let page = MessagePage {
        title: p.tr.t("error_title").to_string(),
        tone: match failure {
            Failure::Internal => Tone::Problem,
            Failure::Busy | Failure::Unavailable => Tone::ProblemCallStaff,
        },
        paragraphs: vec![p.tr.t(failure.text_key()).to_string()],
        links: vec![],
        p,
    };
    match askama::Template::render(&page) {
        Ok(html) => (failure.status(), axum::response::Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}
