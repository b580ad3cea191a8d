//! The ticket page (`GET /staff/tickets/{id}`): the ticket, the contractor on record, the
//! timeline, the contractor's other tickets, and the forms that work the ticket (the handlers
//! are in `ticket_forms`). Signed-in staff only. What it shows comes from
//! [`crate::staff::ticket_view`], which never holds a secret.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;

use super::account::{AccountPanel, panel};
use super::pages::{Page, PageError, message};
use super::web::StaffVisitor;
use crate::app::AppState;
use crate::clock::Millis;
use crate::domain::ids::TicketId;
use crate::domain::office_hours::OfficeHours;
use crate::domain::sla;
use crate::recovery::{MAX_STAFF_REPLY, MAX_STAFF_SMS};
use crate::staff::{MAX_NOTE, Resolution, TicketView, ticket_view};
use crate::store::staff::StaffMember;

#[derive(Template)]
#[template(path = "staff/ticket.html")]
struct TicketPage {
    title: String,
    problem: bool,
    who: Option<String>,
    csrf: String,
    notice: Option<String>,
    error: Option<FormError>,
    t: TicketView,
    created: String,
    resolved: Option<String>,
    waiting_since: Option<String>,
    age: String,
    overdue: bool,
    sla_hours: u32,
    entries: Vec<Entry>,
    others: Vec<(TicketView2, String)>,
    resolutions: Vec<(&'static str, &'static str, bool)>,
    can_claim: bool,
    can_release: bool,
    max_note: usize,
    max_email: usize,
    max_sms: usize,
    account: Option<AccountPanel>,
}

/// Another ticket of the contractor, as listed.
struct TicketView2 {
    id: TicketId,
    kind: String,
    status: String,
}

/// A timeline entry with its time in words.
struct Entry {
    when: String,
    heading: String,
    author: String,
    text: String,
    url: Option<String>,
    delivery: Option<String>,
}

/// What went wrong with a form on this page: the page again, with the message on top, the
/// field it is about, and what was typed.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub status: StatusCode,
    pub message: String,
    /// The id of the field to fix (the error summary links to it).
    pub field: &'static str,
    pub note: String,
    pub email: String,
    pub sms: String,
    pub resolution: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TicketQuery {
    done: String,
    /// The notice code of an account action's redirect (`?account=temporary_texted`).
    account: String,
}

/// An instant as staff read it: on the city's clock when office hours name its zone, else UTC.
pub fn when(hours: Option<&OfficeHours>, at: Millis) -> String {
    let Ok(ts) = Timestamp::from_millisecond(at) else {
        return String::new();
    };
    match hours {
        Some(h) => {
            let zoned = ts.to_zoned(h.zone_tz().clone());
            zoned.strftime("%a %Y-%m-%d %H:%M %Z").to_string()
        }
        None => ts.strftime("%a %Y-%m-%d %H:%M UTC").to_string(),
    }
}

fn notice_of(done: &str) -> Option<String> {
    Some(
        match done {
            "note" => "Note added.",
            "email" => "Email reply queued; the ticket now waits on the contractor.",
            "sms" => "Text queued; the ticket now waits on the contractor.",
            "resolved" => "Ticket resolved.",
            "reopened" => "Ticket reopened.",
            "resumed" => "No longer waiting on the contractor: the SLA clock runs again.",
            "claimed" => "Ticket claimed: it is yours.",
            "released" => "Ticket released: it is back in the queue.",
            _ => return None,
        }
        .into(),
    )
}

/// The ticket a path names, or the 404 page for a number that is not a ticket id.
pub fn ticket_id(id: &str) -> Option<TicketId> {
    match id.parse::<i64>() {
        Ok(n) if n > 0 => Some(TicketId(n)),
        _ => None,
    }
}

pub fn no_ticket(v: StaffVisitor, id: &str) -> Response {
    let shown: String = id.chars().filter(|c| !c.is_control()).take(20).collect();
    message(
        v,
        StatusCode::NOT_FOUND,
        format!("There is no ticket #{shown}."),
    )
}

pub async fn ticket_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    query: Result<Query<TicketQuery>, QueryRejection>,
) -> Page {
    let Some(me) = v.member.as_ref().map(|m| m.staff.clone()) else {
        return Ok(v.redirect("/staff/login"));
    };
    let Some(id) = ticket_id(&id) else {
        return Ok(no_ticket(v, &id));
    };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let notice = notice_of(&q.done);
    render(&st, v, &me, id, notice, Some(&q.account), None).await
}

/// The ticket page, with a notice, an account action's notice code or a form's error.
pub async fn render(
    st: &AppState,
    v: StaffVisitor,
    me: &StaffMember,
    id: TicketId,
    notice: Option<String>,
    account_notice: Option<&str>,
    error: Option<FormError>,
) -> Page {
    let now = st.clock.now_ms();
    let hours = st.hours.hours(&st.settings);
    let hours = hours.as_ref();
    let Some(t) = ticket_view(&st.store, id, now, hours)
        .await
        .map_err(PageError::from)?
    else {
        return Ok(no_ticket(v, &id.to_string()));
    };
    let limit = st.settings.staff_sla_hours;
    let state = t.sla(hours, now, limit);
    let entries = t
        .timeline
        .iter()
        .map(|e| Entry {
            when: when(hours, e.at),
            heading: e.heading.clone(),
            author: e.author.clone(),
            text: e.text.clone(),
            url: e.url.clone(),
            delivery: e.message.as_ref().map(|m| {
                let mut words = format!("{} to {}: {}", m.template_words, m.to, m.status);
                if let Some(d) = &m.delivery_status {
                    words.push_str(&format!(", delivery reported {d}"));
                }
                if let Some(at) = m.delivered_at {
                    words.push_str(&format!(" at {}", when(hours, at)));
                }
                if let Some(code) = &m.error_code {
                    words.push_str(&format!(", error {code}"));
                    if let Some(hint) = &m.error_hint {
                        words.push_str(&format!(" ({hint})"));
                    }
                }
                words
            }),
        })
        .collect();
    let others = t
        .other_tickets
        .iter()
        .map(|o| {
            (
                TicketView2 {
                    id: o.id,
                    kind: o.kind_words.clone(),
                    status: o.status.clone(),
                },
                when(hours, o.created_at),
            )
        })
        .collect();
    let chosen = error
        .as_ref()
        .map(|e| e.resolution.clone())
        .unwrap_or_default();
    let account = panel(st, me, id, &v.csrf, account_notice).await?;
    let open = t.is_open();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = TicketPage {
        title: format!("Ticket #{}: {}", t.id, t.kind_words),
        problem: error.is_some(),
        who: Some(me.name.clone()),
        csrf: v.csrf.clone(),
        notice,
        created: when(hours, t.created_at),
        resolved: t.resolved_at.map(|at| when(hours, at)),
        waiting_since: t.waiting_since.map(|at| when(hours, at)),
        age: sla::words(state.age_ms),
        overdue: state.overdue,
        sla_hours: limit,
        entries,
        others,
        resolutions: Resolution::ALL
            .iter()
            .map(|r| (r.as_str(), r.words(), r.as_str() == chosen))
            .collect(),
        can_claim: open && t.assigned_to.is_none(),
        can_release: t.assigned_to.is_some_and(|a| a == me.id || me.is_admin()),
        max_note: MAX_NOTE,
        max_email: MAX_STAFF_REPLY,
        max_sms: MAX_STAFF_SMS,
        account,
        error,
        t,
    };
    Ok(v.render(status, page))
}
