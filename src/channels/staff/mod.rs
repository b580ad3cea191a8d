//! The staff pages: sign-in at `/staff/login`, the escalation queue at `/staff`, and the
//! queue's forms (`POST /staff/tickets/{id}/claim`, `…/release`, `…/reassign`), and the
//! administrator's page at `/staff/admin` (staff logins, office hours). English, server-rendered, no JavaScript, with the
//! portal's stylesheet. Sessions, CSRF and cookies follow the portal's rules
//! (`channels::web_session`) under a cookie of their own.

mod admin;
mod pages;
mod queue;
mod web;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub use web::{SESSION, desk};

/// The staff routes, with the portal's security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(pages::login_page).post(pages::login))
        .route("/staff/logout", post(pages::logout))
        .route("/staff", get(queue::queue_page))
        .route("/staff/admin", get(admin::admin_page))
        .route("/staff/admin/staff", post(admin::add_login))
        .route("/staff/admin/staff/disable", post(admin::disable_login))
        .route("/staff/admin/hours", post(admin::set_hours))
        .route("/staff/tickets/{id}/{action}", post(queue::ticket_action))
        .layer(axum::middleware::from_fn(
            crate::channels::web_session::security_headers,
        ))
}
