//! The portal's login steps as server-rendered pages (no JavaScript), also the walk-up kiosk.

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
