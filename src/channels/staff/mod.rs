//! The staff pages: sign-in at `/staff/login`, the escalation queue at `/staff`, the queue's
//! forms (`POST /staff/tickets/{id}/claim`, `…/release`, `…/reassign`), the ticket page
//! (`GET /staff/tickets/{id}`) with its forms (`…/note`, `…/reply-email`, `…/reply-sms`,
//! `…/resolve`, `…/reopen`, `…/not-waiting`) and account actions (`…/account/{action}`), the
//! administrator's page at `/staff/admin` (staff logins, office hours), and the dashboard at
//! `/staff/dashboard` (with the on-duty form, `POST /staff/duty`). English, server-rendered, no
//! JavaScript, with the portal's stylesheet. Sessions, CSRF and cookies follow the portal's
//! rules (`channels::web_session`) under a cookie of their own.

pub mod account;
mod admin;
mod dashboard;
mod pages;
mod queue;
mod ticket;
mod ticket_forms;
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
        .route("/staff/tickets/{id}", get(ticket::ticket_page))
        .route("/staff/tickets/{id}/note", post(ticket_forms::note))
        .route(
            "/staff/tickets/{id}/reply-email",
            post(ticket_forms::reply_email),
        )
        .route(
            "/staff/tickets/{id}/reply-sms",
            post(ticket_forms::reply_sms),
        )
        .route("/staff/tickets/{id}/resolve", post(ticket_forms::resolve))
        .route("/staff/tickets/{id}/reopen", post(ticket_forms::reopen))
        .route(
            "/staff/tickets/{id}/not-waiting",
            post(ticket_forms::not_waiting),
        )
        .route("/staff/dashboard", get(dashboard::dashboard_page))
        .route("/staff/duty", post(dashboard::duty))
        .route("/staff/tickets/{id}/{action}", post(queue::ticket_action))
        .route(
            "/staff/tickets/{id}/account/{action}",
            post(account::account_action),
        )
        .layer(axum::middleware::from_fn(
            crate::channels::web_session::security_headers,
        ))
}
