//! The queue's tickets as JSON: the list with the queue page's filter, and claiming (one
//! winner). Adapters only: the decisions are the staff desk's (`crate::staff`), called with
//! the API as their channel.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiStaff;
use super::error::{ApiError, ApiResult, ErrorBody};
use crate::app::AppState;
use crate::domain::channel::Channel;
use crate::domain::ids::TicketId;
use crate::domain::ticket::TicketKind;
use crate::staff::filter::{QueueAsk, queue_filter};
use crate::staff::{AssignOutcome, Desk, TicketView};
use crate::store::queue::{self, PAGE, QueueRow};

/// How many tickets a list gives when `limit` is not said.
pub const DEFAULT_LIMIT: i64 = 100;

/// The desk, acting for the API.
pub fn desk(st: &AppState) -> Desk<'_> {
    Desk {
        channel: Channel::Api,
        ..crate::channels::staff::desk(st)
    }
}

/// A ticket as the queue lists it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketSummary {
    #[schema(example = 12)]
    pub id: i64,
    /// The reason the ticket was opened (its stored name).
    #[schema(example = "not_me")]
    pub kind: String,
    /// The reason in words.
    #[schema(example = "Contractor says a change was not them")]
    pub kind_words: String,
    /// `open` or `resolved`.
    #[schema(example = "open")]
    pub status: String,
    /// `urgent` or `normal`.
    #[schema(example = "urgent")]
    pub priority: String,
    /// Where the contractor reached the help line.
    #[schema(example = "voice")]
    pub channel: String,
    pub summary: String,
    /// When the ticket was opened, Unix milliseconds.
    pub created_at: i64,
    /// Who holds it, when someone does.
    pub assignee: Option<Holder>,
    pub contractor_number: Option<String>,
}

/// A staff member holding a ticket.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    pub id: i64,
    #[schema(example = "Pat Lee")]
    pub name: String,
}

impl From<QueueRow> for TicketSummary {
    fn from(r: QueueRow) -> Self {
        let kind_words = TicketKind::parse(&r.kind)
            .map_or_else(|| r.kind.clone(), |k| k.staff_words().to_string());
        TicketSummary {
            id: r.id.0,
            kind: r.kind,
            kind_words,
            status: r.status,
            priority: r.priority,
            channel: r.channel,
            summary: r.summary,
            created_at: r.created_at,
            assignee: r.assigned_to.map(|id| Holder {
                id,
                name: r.assignee.unwrap_or_default(),
            }),
            contractor_number: r.contractor_number,
        }
    }
}

/// A page of the queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketList {
    pub tickets: Vec<TicketSummary>,
}

/// The queue page's filter, as a query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default), `resolved` or `all`.
    #[param(example = "open")]
    pub status: String,
    /// A ticket kind (stored name); every kind when absent.
    pub kind: String,
    /// `mine` or `unassigned`; anyone when absent.
    pub assignee: String,
    /// A contractor number, license number or email on record, matched whole.
    pub q: String,
    /// At most this many tickets, 1 to 500 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: String,
}

/// The ticket a path names: 400 when it is no number, 404 when no ticket has it.
pub fn ticket_id(path: Result<Path<String>, PathRejection>) -> ApiResult<TicketId> {
    let Path(raw) = path?;
    match raw.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(TicketId(n)),
        Ok(_) => Err(ApiError::no_ticket(raw)),
        Err(_) => Err(ApiError::bad_request(
            "bad_id",
            "A ticket id is a whole number, e.g. /api/v1/tickets/12.",
        )),
    }
}

fn limit_of(raw: &str) -> ApiResult<i64> {
    if raw.trim().is_empty() {
        return Ok(DEFAULT_LIMIT);
    }
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=PAGE).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(
            "bad_filter",
            format!("limit is a whole number from 1 to {PAGE}."),
        )),
    }
}

/// The queue, filtered like the queue page: urgent first, then oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "tickets",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Tickets matching the filter", body = TicketList),
        (status = 400, description = "A filter value is not one the queue knows", body = ErrorBody),
        (status = 401, description = "No live staff token", body = ErrorBody),
        (status = 429, description = "Too many failed requests from this address", body = ErrorBody),
    )
)]
pub async fn list(
    ApiStaff(me): ApiStaff,
    State(st): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<TicketList>> {
    let Query(q) = query?;
    let ask = QueueAsk {
        status: &q.status,
        kind: &q.kind,
        assignee: &q.assignee,
        search: &q.q,
    };
    let filter = queue_filter(ask, me.id).map_err(|m| ApiError::bad_request("bad_filter", m))?;
    let limit = limit_of(&q.limit)?;
    let rows = queue::list_at_most(st.store.pool(), &filter, limit).await?;
    Ok(Json(TicketList {
        tickets: rows.into_iter().map(TicketSummary::from).collect(),
    }))
}

/// Takes an open, unassigned ticket. Of staff claiming at once, exactly one wins.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/claim",
    tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's number")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Claimed: the ticket, now yours", body = TicketView),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 401, description = "No live staff token", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 409, description = "Someone holds it already, or it is not open", body = ErrorBody),
        (status = 429, description = "Too many failed requests from this address", body = ErrorBody),
    )
)]
pub async fn claim(
    ApiStaff(me): ApiStaff,
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<TicketView>> {
    let id = ticket_id(path)?;
    match desk(&st).claim(&me, id).await? {
        AssignOutcome::Done => super::work::view(&st, id).await.map(Json),
        AssignOutcome::Taken { by } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_claimed",
            format!("Ticket #{id} is already claimed by {by}."),
        )),
        AssignOutcome::NotOpen => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_open",
            format!("Ticket #{id} is no longer open."),
        )),
        // Claiming neither checks roles nor names a staff member.
        AssignOutcome::NoSuchTicket | AssignOutcome::NotAllowed | AssignOutcome::NoSuchStaff => {
            Err(ApiError::no_ticket(id))
        }
    }
}
