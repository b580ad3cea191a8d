//! The queue page (`GET /staff`) and its forms: claim, release, reassign. Signed-in staff
//! only; a visitor without a session is sent to sign in.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::pages::{Page, message, staff_form};
use super::web::{StaffVisitor, desk};
use crate::app::AppState;
use crate::domain::ids::TicketId;
use crate::domain::sla::{self, TicketClock};
use crate::domain::ticket::TicketKind;
use crate::staff::filter::{QueueAsk, queue_filter};
use crate::staff::{AssignOutcome, ReleaseOutcome};
use crate::store::queue;
use crate::store::staff::{self, StaffMember};

#[derive(Template)]
#[template(path = "staff/queue.html")]
struct QueuePage {
    title: String,
    problem: bool,
    who: Option<String>,
    csrf: String,
    is_admin: bool,
    notice: Option<String>,
    unassigned: i64,
    claimed: i64,
    counts: Vec<(String, i64)>,
    status_options: Vec<(&'static str, &'static str, bool)>,
    kind_options: Vec<(&'static str, &'static str, bool)>,
    assignee_options: Vec<(&'static str, &'static str, bool)>,
    search: String,
    rows: Vec<Row>,
    staff_options: Vec<(i64, String)>,
}

/// One ticket as the table shows it.
struct Row {
    id: TicketId,
    urgent: bool,
    kind: String,
    channel: String,
    contractor: String,
    summary: String,
    /// Business-hours age (waits on the contractor taken off).
    age: String,
    overdue: bool,
    waiting: bool,
    assignee: Option<String>,
    open: bool,
    can_claim: bool,
    can_release: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QueueQuery {
    status: String,
    kind: String,
    assignee: String,
    q: String,
    done: String,
}

const STATUSES: [(&str, &str); 3] = [("open", "Open"), ("resolved", "Resolved"), ("all", "All")];
const ASSIGNEES: [(&str, &str); 3] = [
    ("", "Anyone"),
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
];

fn notice_of(done: &str) -> Option<String> {
    let text = match done {
        "claimed" => "Ticket claimed: it is yours.",
        "released" => "Ticket released: it is back in the queue.",
        "reassigned" => "Ticket reassigned.",
        _ => return None,
    };
    Some(text.into())
}

pub async fn queue_page(
    State(st): State<AppState>,
    v: StaffVisitor,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Page {
    let Some(me) = v.member.as_ref().map(|m| m.staff.clone()) else {
        return Ok(v.redirect("/staff/login"));
    };
    let Ok(Query(q)) = query else {
        let text = "The filter could not be read: use the form on the queue page.".into();
        return Ok(message(v, StatusCode::BAD_REQUEST, text));
    };
    let ask = QueueAsk {
        status: &q.status,
        kind: &q.kind,
        assignee: &q.assignee,
        search: &q.q,
    };
    let f = match queue_filter(ask, me.id) {
        Ok(f) => f,
        Err(text) => return Ok(message(v, StatusCode::BAD_REQUEST, text)),
    };
    let pool = st.store.pool();
    let now = st.clock.now_ms();
    let hours = st.hours.hours(&st.settings);
    let hours = hours.as_ref();
    let rows = queue::list(pool, &f)
        .await?
        .into_iter()
        .map(|r| {
            let open = r.status == "open";
            let clock = TicketClock {
                created_at: r.created_at,
                waiting_since: r.waiting_since,
                waited_ms: r.waited_ms,
                open,
            };
            let state = sla::sla(hours, clock, now, st.settings.staff_sla_hours);
            Row {
                id: r.id,
                urgent: r.priority == "urgent",
                kind: TicketKind::parse(&r.kind)
                    .map_or_else(|| r.kind.clone(), |k| k.staff_words().to_string()),
                channel: r.channel,
                contractor: r.contractor_number.unwrap_or_default(),
                summary: r.summary,
                age: sla::words(state.age_ms),
                overdue: state.overdue,
                waiting: state.waiting,
                open,
                can_claim: open && r.assigned_to.is_none(),
                can_release: r.assigned_to.is_some_and(|a| a == me.id || me.is_admin()),
                assignee: r.assignee,
            }
        })
        .collect();
    let (unassigned, claimed) = queue::open_split(pool).await?;
    let counts = queue::counts(pool)
        .await?
        .into_iter()
        .map(|c| (c.status, c.n))
        .collect();
    let staff_options = if me.is_admin() {
        staff::active(pool)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect()
    } else {
        Vec::new()
    };
    let shown_status = if q.status.is_empty() {
        "open"
    } else {
        q.status.as_str()
    };
    let page = QueuePage {
        title: "Escalation queue".into(),
        problem: false,
        who: Some(me.name.clone()),
        csrf: v.csrf.clone(),
        is_admin: me.is_admin(),
        notice: notice_of(&q.done),
        unassigned,
        claimed,
        counts,
        status_options: STATUSES
            .iter()
            .map(|(k, t)| (*k, *t, *k == shown_status))
            .collect(),
        kind_options: TicketKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.staff_words(), k.as_str() == q.kind))
            .collect(),
        assignee_options: ASSIGNEES
            .iter()
            .map(|(k, t)| (*k, *t, *k == q.assignee))
            .collect(),
        search: f.search,
        rows,
        staff_options,
    };
    Ok(v.render(StatusCode::OK, page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TicketForm {
    csrf: String,
    /// Reassign: the staff member's id.
    to: String,
    /// `ticket` when the form is on the ticket page: the answer goes back there.
    back: String,
}

/// A form about one ticket: the form (400/403 when broken or forged), the visitor, the
/// signed-in member (else to sign in) and the ticket (else 404).
macro_rules! ticket_form {
    ($v:ident, $form:ident, $id:ident) => {{
        let f = staff_form!($v, $form);
        match who_and_which($v, &$id) {
            Ok((v, me, id)) => (f, v, me, id),
            Err(answer) => return Ok(*answer),
        }
    }};
}

fn no_ticket(v: StaffVisitor, id: &str) -> Response {
    let text = format!("There is no ticket #{id}.");
    message(v, StatusCode::NOT_FOUND, text)
}

/// The signed-in member and the ticket a form's path names, or the answer when either is
/// missing (sign in first; no such ticket).
fn who_and_which(
    v: StaffVisitor,
    id: &str,
) -> Result<(StaffVisitor, StaffMember, TicketId), Box<Response>> {
    let Some(me) = v.member.as_ref().map(|m| m.staff.clone()) else {
        return Err(Box::new(v.redirect("/staff/login")));
    };
    match id.parse::<i64>() {
        Ok(n) if n > 0 => Ok((v, me, TicketId(n))),
        _ => Err(Box::new(no_ticket(v, id))),
    }
}

/// Where a form's success goes: the ticket page it came from, or the queue.
fn done_to(back: &str, id: TicketId, done: &str) -> String {
    if back == "ticket" {
        format!("/staff/tickets/{id}?done={done}")
    } else {
        format!("/staff?done={done}")
    }
}

fn assign_answer(v: StaffVisitor, id: TicketId, outcome: AssignOutcome, to: String) -> Response {
    let (status, text) = match outcome {
        AssignOutcome::Done => return v.redirect(&to),
        AssignOutcome::Taken { by } => (
            StatusCode::CONFLICT,
            format!("Ticket #{id} is already claimed by {by}."),
        ),
        AssignOutcome::NotOpen => (
            StatusCode::CONFLICT,
            format!("Ticket #{id} is no longer open."),
        ),
        AssignOutcome::NoSuchTicket => return no_ticket(v, &id.to_string()),
        AssignOutcome::NotAllowed => (
            StatusCode::FORBIDDEN,
            "Only an admin can reassign tickets.".into(),
        ),
        AssignOutcome::NoSuchStaff => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a staff member from the list: that one does not exist or cannot sign in."
                .into(),
        ),
    };
    message(v, status, text)
}

/// A form about one ticket, by what it asks: `claim`, `release` or `reassign` (with `to`).
pub async fn ticket_action(
    State(st): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    v: StaffVisitor,
    form: Result<Form<TicketForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = ticket_form!(v, form, id);
    let desk = desk(&st);
    Ok(match action.as_str() {
        "claim" => {
            let to = done_to(&f.back, id, "claimed");
            assign_answer(v, id, desk.claim(&me, id).await?, to)
        }
        "release" => {
            let to = done_to(&f.back, id, "released");
            release_answer(v, id, desk.release(&me, id).await?, to)
        }
        "reassign" => {
            let outcome = match f.to.trim().parse::<i64>() {
                Ok(to) => desk.reassign(&me, id, to).await?,
                Err(_) if me.is_admin() => AssignOutcome::NoSuchStaff,
                Err(_) => AssignOutcome::NotAllowed,
            };
            assign_answer(v, id, outcome, done_to(&f.back, id, "reassigned"))
        }
        other => message(
            v,
            StatusCode::NOT_FOUND,
            format!(
                "A ticket has no form '{other}': use claim, release, reassign, note, \
                 reply-email, reply-sms, resolve, reopen or not-waiting."
            ),
        ),
    })
}

fn release_answer(v: StaffVisitor, id: TicketId, outcome: ReleaseOutcome, to: String) -> Response {
    let (status, text) = match outcome {
        ReleaseOutcome::Done => return v.redirect(&to),
        ReleaseOutcome::NotYours { by } => (
            StatusCode::FORBIDDEN,
            format!("Ticket #{id} is claimed by {by}: only they or an admin can release it."),
        ),
        ReleaseOutcome::NotAssigned => (
            StatusCode::CONFLICT,
            format!("Ticket #{id} is not claimed by anyone."),
        ),
        ReleaseOutcome::NoSuchTicket => return no_ticket(v, &id.to_string()),
    };
    message(v, status, text)
}
