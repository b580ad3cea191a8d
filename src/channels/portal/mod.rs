//! The portal's login steps as server-rendered pages (no JavaScript), also the walk-up kiosk:
//! sign in, "Require Login Change", forgotten password, reset link, "Setup an Account", and
//! "I can't log in". Routes are those of the public contract. Unknown paths (404) and known
//! paths asked with the wrong method (405) get the portal's own page, in the visitor's language,
//! so this router owns the service's fallback.

mod pages;
mod web;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// The portal's routes; failures of any of them are drawn as its own page (see
/// [`pages::render_failures`]).
pub fn router(st: &AppState) -> Router<AppState> {
    Router::new()
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/login/change", get(pages::change_page).post(pages::change))
        .route("/account", get(pages::account))
        .route("/forgot", get(pages::forgot_page).post(pages::forgot))
        .route("/reset", get(pages::reset_page).post(pages::reset))
        .route("/reset/", get(pages::reset_empty).post(pages::reset_empty))
        .route(
            "/reset/{token}",
            get(pages::reset_link).post(pages::reset_with_token),
        )
        .route(
            "/not-me/{token}",
            get(pages::not_me_page).post(pages::not_me),
        )
        .route("/register", get(pages::register_page).post(pages::register))
        .route("/help", get(pages::help_page).post(pages::help))
        .route("/help/choose", get(pages::help_choose))
        .route("/help/send", post(pages::help_send))
        .route("/done", get(pages::result_page))
        .route("/static/portal.css", get(pages::stylesheet))
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/login") }),
        )
        // After every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(pages::method_not_allowed)
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            pages::render_failures,
        ))
        .layer(axum::middleware::from_fn(
            crate::channels::web_session::security_headers,
        ))
}
