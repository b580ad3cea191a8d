//! The ticket page's forms: `POST /staff/tickets/{id}/note`, `/reply-email`, `/reply-sms`,
//! `/resolve`, `/reopen` and `/not-waiting`. Each calls the staff desk or the recovery service
//! and answers with a redirect (303) back to the ticket page and a short notice, or the page
//! again with a specific message (404 no ticket, 409 not possible now, 422 fix the form).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::pages::{Page, message, staff_form};
use super::ticket::{FormError, no_ticket, render, ticket_id};
use super::web::{StaffVisitor, desk};
use crate::app::AppState;
use crate::domain::ids::TicketId;
use crate::recovery::{MAX_STAFF_REPLY, StaffReplyOutcome, StaffSmsOutcome};
use crate::staff::{NoteOutcome, ReopenOutcome, Resolution, ResolveOutcome, WaitOutcome};
use crate::store::staff::StaffMember;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WorkForm {
    csrf: String,
    /// A note, an email or a text.
    text: String,
    resolution: String,
    note: String,
}

/// The form (400/403 when broken or forged), the visitor, the signed-in member (else to
/// sign in) and the ticket (else 404).
macro_rules! work_form {
    ($v:ident, $form:ident, $id:ident) => {{
        let f = staff_form!($v, $form);
        let Some(me) = $v.member.as_ref().map(|m| m.staff.clone()) else {
            return Ok($v.redirect("/staff/login"));
        };
        let Some(id) = ticket_id(&$id) else {
            return Ok(no_ticket($v, &$id));
        };
        (f, $v, me, id)
    }};
}

fn done(v: StaffVisitor, id: TicketId, what: &str) -> Page {
    Ok(v.redirect(&format!("/staff/tickets/{id}?done={what}")))
}

/// What is wrong: the status, the id of the field to fix (empty: none), the message.
type Problem = (StatusCode, &'static str, String);

/// The page again with a problem about a field, keeping what was typed.
async fn again(
    st: &AppState,
    v: StaffVisitor,
    me: &StaffMember,
    id: TicketId,
    f: WorkForm,
    (status, field, text): Problem,
) -> Page {
    let mut e = FormError {
        status,
        message: text,
        field,
        resolution: f.resolution,
        note: f.note,
        ..FormError::default()
    };
    match field {
        "email-text" => e.email = f.text,
        "sms-text" => e.sms = f.text,
        "note-text" => e.note = f.text,
        _ => {}
    }
    render(st, v, me, id, None, None, Some(e)).await
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
const CONFLICT: StatusCode = StatusCode::CONFLICT;

pub async fn note(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    form: Result<Form<WorkForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = work_form!(v, form, id);
    let (status, text) = match desk(&st).add_note(&me, id, &f.text).await? {
        NoteOutcome::Added => return done(v, id, "note"),
        NoteOutcome::NoTicket => return Ok(no_ticket(v, &id.to_string())),
        NoteOutcome::Empty => (
            UNPROCESSABLE,
            "Write the note before adding it.".to_string(),
        ),
        NoteOutcome::TooLong => (
            UNPROCESSABLE,
            format!(
                "The note is too long: at most {} characters.",
                crate::staff::MAX_NOTE
            ),
        ),
    };
    again(&st, v, &me, id, f, (status, "note-text", text)).await
}

pub async fn reply_email(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    form: Result<Form<WorkForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = work_form!(v, form, id);
    let (status, text) = if f.text.trim().chars().count() > MAX_STAFF_REPLY {
        (
            UNPROCESSABLE,
            format!("The email is too long: at most {MAX_STAFF_REPLY} characters."),
        )
    } else {
        match st
            .recovery()
            .staff_email_reply(id, &me.name, &f.text)
            .await?
        {
            StaffReplyOutcome::Queued { .. } => return done(v, id, "email"),
            StaffReplyOutcome::NoTicket => return Ok(no_ticket(v, &id.to_string())),
            StaffReplyOutcome::Empty => {
                (UNPROCESSABLE, "Write the email before sending it.".into())
            }
            StaffReplyOutcome::NoAddress => (
                CONFLICT,
                "There is no email to answer on this ticket and no email on record: \
                 answer by text or phone instead."
                    .into(),
            ),
            StaffReplyOutcome::Undeliverable { to } => (
                CONFLICT,
                format!(
                    "Mail to {to} bounced: nothing was sent. Fix the email on record, or \
                     answer by text or phone."
                ),
            ),
        }
    };
    again(&st, v, &me, id, f, (status, "email-text", text)).await
}

pub async fn reply_sms(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    form: Result<Form<WorkForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = work_form!(v, form, id);
    let (status, text) = match st.recovery().staff_sms_reply(id, &me.name, &f.text).await? {
        StaffSmsOutcome::Queued { .. } => return done(v, id, "sms"),
        StaffSmsOutcome::NoTicket => return Ok(no_ticket(v, &id.to_string())),
        StaffSmsOutcome::Empty => (UNPROCESSABLE, "Write the text before sending it.".into()),
        StaffSmsOutcome::TooLong => (
            UNPROCESSABLE,
            format!(
                "The text is too long: at most {} characters.",
                crate::recovery::MAX_STAFF_SMS
            ),
        ),
        StaffSmsOutcome::NoPhone => (
            CONFLICT,
            "There is no phone on record for this ticket's contractor: answer by email instead."
                .into(),
        ),
        StaffSmsOutcome::OptedOut { to } => (
            CONFLICT,
            format!(
                "{to} texted STOP: Helpline sends it no texts until it texts START. Nothing \
                 was sent; answer by email or phone."
            ),
        ),
        StaffSmsOutcome::TextsOff => (
            CONFLICT,
            "Texts are turned off on this Helpline: answer by email or phone.".into(),
        ),
    };
    again(&st, v, &me, id, f, (status, "sms-text", text)).await
}

pub async fn resolve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    form: Result<Form<WorkForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = work_form!(v, form, id);
    let Some(code) = Resolution::parse(f.resolution.trim()) else {
        let text = "Choose how the ticket was resolved from the list.".to_string();
        return again(&st, v, &me, id, f, (UNPROCESSABLE, "resolution", text)).await;
    };
    let (status, field, text) = match desk(&st).resolve(&me, id, code, &f.note).await? {
        ResolveOutcome::Resolved => return done(v, id, "resolved"),
        ResolveOutcome::NoTicket => return Ok(no_ticket(v, &id.to_string())),
        ResolveOutcome::AlreadyResolved => (
            CONFLICT,
            "resolution",
            format!("Ticket #{id} is already resolved (perhaps by someone else just now)."),
        ),
        ResolveOutcome::NoteRequired => (
            UNPROCESSABLE,
            "resolve-note",
            "With \"Other\", say in the note how the ticket was resolved.".into(),
        ),
        ResolveOutcome::NoteTooLong => (
            UNPROCESSABLE,
            "resolve-note",
            format!(
                "The note is too long: at most {} characters.",
                crate::staff::MAX_NOTE
            ),
        ),
    };
    again(&st, v, &me, id, f, (status, field, text)).await
}

pub async fn reopen(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    form: Result<Form<WorkForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = work_form!(v, form, id);
    let text = match desk(&st).reopen(&me, id).await? {
        ReopenOutcome::Reopened => return done(v, id, "reopened"),
        ReopenOutcome::NoTicket => return Ok(no_ticket(v, &id.to_string())),
        ReopenOutcome::NotResolved => format!("Ticket #{id} is not resolved: it is open already."),
    };
    again(&st, v, &me, id, f, (CONFLICT, "", text)).await
}

pub async fn not_waiting(
    State(st): State<AppState>,
    Path(id): Path<String>,
    v: StaffVisitor,
    form: Result<Form<WorkForm>, FormRejection>,
) -> Page {
    let (f, v, me, id) = work_form!(v, form, id);
    let hours = st.hours.hours(&st.settings);
    let hours = hours.as_ref();
    let text = match desk(&st).stop_waiting(&me, id, hours).await? {
        WaitOutcome::Resumed => return done(v, id, "resumed"),
        WaitOutcome::NoTicket => return Ok(no_ticket(v, &id.to_string())),
        WaitOutcome::NotWaiting => format!("Ticket #{id} is not waiting on the contractor."),
    };
    again(&st, v, &me, id, f, (CONFLICT, "", text)).await
}
