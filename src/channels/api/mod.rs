//! The staff JSON API under `/api/v1/`: the escalation queue for scripts and other tools,
//! with bearer tokens (`helpline staff token`) instead of a browser session, and its OpenAPI
//! document at `/api/v1/openapi.json`. Every failure answers
//! `{"error":{"code":"…","message":"…"}}`.

mod auth;
pub mod error;
pub mod openapi;
mod tickets;
mod work;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::app::AppState;

pub use openapi::ApiDoc;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// The largest request body the API reads (a note is text, not a file).
pub const BODY_MAX: usize = 64 * 1024;

/// Every route: its method, its path under [`PREFIX`] and its handler. The router is built
/// from this table and the tests compare it with the OpenAPI document.
fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/openapi.json", get(openapi::openapi_json)),
        (Method::GET, "/tickets", get(tickets::list)),
        (Method::GET, "/tickets/{id}", get(work::get_ticket)),
        (Method::POST, "/tickets/{id}/claim", post(tickets::claim)),
        (Method::POST, "/tickets/{id}/notes", post(work::add_note)),
        (Method::POST, "/tickets/{id}/resolve", post(work::resolve)),
    ]
}

/// The API's operations as (method, full path), e.g. (`POST`, `/api/v1/tickets/{id}/claim`).
pub fn operations() -> Vec<(Method, String)> {
    table()
        .into_iter()
        .map(|(m, p, _)| (m, format!("{PREFIX}{p}")))
        .collect()
}

/// The API's routes, with their own body limit and error shape.
pub fn router() -> Router<AppState> {
    let api = table()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .fallback(error::no_route);
    Router::new()
        .nest(PREFIX, api)
        .layer(RequestBodyLimitLayer::new(BODY_MAX))
        .layer(axum::middleware::from_fn(error::json_errors))
}
