//! One ticket through the API: its detail (the ticket page's read model), a note, resolving
//! with a code. The decisions and their audit are the desk's (`crate::staff`).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::ApiStaff;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::tickets::{desk, ticket_id};
use crate::app::AppState;
use crate::domain::ids::TicketId;
use crate::staff::{MAX_NOTE, NoteOutcome, Resolution, ResolveOutcome, TicketView, ticket_view};

/// A note for the ticket's timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note, up to 4000 characters.
    #[schema(example = "Called back: the contractor will reply to the reset email.")]
    pub text: String,
}

/// How the ticket was settled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// A resolution code.
    #[schema(example = "reset_link_sent", value_type = Resolution)]
    pub resolution: String,
    /// What was done; required with `other`.
    #[serde(default)]
    pub note: String,
}

/// The ticket as staff read it now.
pub async fn view(st: &AppState, id: TicketId) -> ApiResult<TicketView> {
    let hours = st.hours.hours(&st.settings);
    ticket_view(&st.store, id, st.clock.now_ms(), hours.as_ref())
        .await?
        .ok_or_else(|| ApiError::no_ticket(id))
}

/// One ticket: the contractor on record, the timeline, the contractor's other tickets.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}",
    tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's number")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 401, description = "No live staff token", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 429, description = "Too many failed requests from this address", body = ErrorBody),
    )
)]
pub async fn get_ticket(
    ApiStaff(_me): ApiStaff,
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<TicketView>> {
    let id = ticket_id(path)?;
    view(&st, id).await.map(Json)
}

/// Adds a note to the ticket's timeline, in the staff member's name.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/notes",
    tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's number")),
    request_body = NoteRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added: the ticket with its note", body = TicketView),
        (status = 400, description = "The id is not a number, or the body is not JSON", body = ErrorBody),
        (status = 401, description = "No live staff token", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "The note is empty or too long, or a field is missing", body = ErrorBody),
        (status = 429, description = "Too many failed requests from this address", body = ErrorBody),
    )
)]
pub async fn add_note(
    ApiStaff(me): ApiStaff,
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NoteRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    let id = ticket_id(path)?;
    let Json(note) = body?;
    match desk(&st).add_note(&me, id, &note.text).await? {
        NoteOutcome::Added => Ok((StatusCode::CREATED, Json(view(&st, id).await?))),
        NoteOutcome::NoTicket => Err(ApiError::no_ticket(id)),
        NoteOutcome::Empty => Err(unprocessable("empty_note", "The note is empty.".into())),
        NoteOutcome::TooLong => Err(unprocessable(
            "note_too_long",
            format!("A note is at most {MAX_NOTE} characters."),
        )),
    }
}

/// Resolves an open ticket with a code. Of staff resolving at once, exactly one wins.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/resolve",
    tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's number")),
    request_body = ResolveRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resolved: the ticket", body = TicketView),
        (status = 400, description = "The id is not a number, or the body is not JSON", body = ErrorBody),
        (status = 401, description = "No live staff token", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 409, description = "The ticket is resolved already", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "Unknown resolution code, a note missing with `other`, or too long", body = ErrorBody),
        (status = 429, description = "Too many failed requests from this address", body = ErrorBody),
    )
)]
pub async fn resolve(
    ApiStaff(me): ApiStaff,
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ResolveRequest>, JsonRejection>,
) -> ApiResult<Json<TicketView>> {
    let id = ticket_id(path)?;
    let Json(ask) = body?;
    let Some(code) = Resolution::parse(ask.resolution.trim()) else {
        let known: Vec<&str> = Resolution::ALL.iter().map(|r| r.as_str()).collect();
        return Err(unprocessable(
            "unknown_resolution",
            format!(
                "Unknown resolution '{}': use one of {}.",
                ask.resolution.chars().take(40).collect::<String>(),
                known.join(", ")
            ),
        ));
    };
    match desk(&st).resolve(&me, id, code, &ask.note).await? {
        ResolveOutcome::Resolved => view(&st, id).await.map(Json),
        ResolveOutcome::NoTicket => Err(ApiError::no_ticket(id)),
        ResolveOutcome::AlreadyResolved => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_resolved",
            format!("Ticket #{id} is resolved already."),
        )),
        ResolveOutcome::NoteRequired => Err(unprocessable(
            "note_required",
            "With the resolution 'other', say in the note what was done.".into(),
        )),
        ResolveOutcome::NoteTooLong => Err(unprocessable(
            "note_too_long",
            format!("A note is at most {MAX_NOTE} characters."),
        )),
    }
}

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}
