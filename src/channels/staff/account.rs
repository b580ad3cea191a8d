//! The account actions of a ticket: `POST /staff/tickets/{id}/account/{action}` (send a reset
//! link or a temporary password, check a security answer, change the phone or email on record,
//! approve or reject a registration, unlock, unfreeze) and the panel of forms the ticket page
//! shows ([`AccountPanel`], built by [`panel`]). Adapters only: the decisions are the recovery service's
//! (`crate::recovery::StaffActions`), called with the signed-in staff member as the actor.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;

use super::pages::{Page, PageError, message, staff_form};
use super::ticket::{no_ticket, ticket_id};
use super::web::StaffVisitor;
use crate::app::AppState;
use crate::domain::ids::TicketId;
use crate::recovery::{
    ContractorFacts, Notice, Refusal, RegistrationFacts, StaffActor, StaffAnswer, StaffSend,
};
use crate::store::staff::StaffMember;

/// The account panel of one ticket: contacts masked, and which actions apply. Rendered by
/// `templates/staff/ticket_account.html` with this in scope as `account`.
#[derive(Debug, Clone)]
pub struct AccountPanel {
    pub ticket: TicketId,
    pub csrf: String,
    pub notice: Option<&'static str>,
    pub contractor: Option<ContractorFacts>,
    pub registration: Option<RegistrationFacts>,
    /// A reset link or temporary password may go to the email on record.
    pub can_send_email: bool,
    /// A temporary password may be texted to the phone on record.
    pub can_text: bool,
}

/// The panel of `ticket` for `me`, with the page's CSRF token and the `?account=` notice code
/// of a redirect; `None` when there is no such ticket.
pub async fn panel(
    st: &AppState,
    me: &StaffMember,
    ticket: TicketId,
    csrf: &str,
    notice: Option<&str>,
) -> Result<Option<AccountPanel>, PageError> {
    let actions = st.recovery.staff_actions(StaffActor { member: me, ticket });
    let Some(facts) = actions.facts().await? else {
        return Ok(None);
    };
    let (can_send_email, can_text) = match &facts.contractor {
        Some(c) if !c.frozen => (
            c.email.is_some() && !c.email_undeliverable,
            c.sms_enabled && c.phone.is_some() && !c.texts_stopped,
        ),
        _ => (false, false),
    };
    Ok(Some(AccountPanel {
        ticket,
        csrf: csrf.to_string(),
        notice: notice.and_then(Notice::from_code).map(Notice::text),
        contractor: facts.contractor,
        registration: facts.registration,
        can_send_email,
        can_text,
    }))
}

// No Debug: it holds the security answer the caller gave.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    csrf: String,
    answer: SecretString,
    phone: String,
    email: String,
    reason: String,
    confirm: String,
}

/// `POST /staff/tickets/{id}/account/{action}`.
pub async fn account_action(
    State(st): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    v: StaffVisitor,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Page {
    let f = staff_form!(v, form);
    let Some(me) = v.member.as_ref().map(|m| m.staff.clone()) else {
        return Ok(v.redirect("/staff/login"));
    };
    let Some(ticket) = ticket_id(&id) else {
        return Ok(no_ticket(v, &id));
    };
    let actions = st.recovery.staff_actions(StaffActor {
        member: &me,
        ticket,
    });
    let answer = match action.as_str() {
        "send_reset_link" => actions.send(StaffSend::ResetLink).await?,
        "send_temporary_sms" => actions.send(StaffSend::TemporaryBySms).await?,
        "send_temporary_email" => actions.send(StaffSend::TemporaryByEmail).await?,
        "check_answer" => actions.check_answer(&f.answer).await?,
        "change_phone" => actions.change_phone(&f.phone, &f.reason).await?,
        "change_email" => actions.change_email(&f.email, &f.reason).await?,
        "approve" => actions.approve_registration().await?,
        "reject" => actions.reject_registration().await?,
        "unlock" => actions.unlock().await?,
        "unfreeze" => actions.unfreeze(!f.confirm.is_empty()).await?,
        other => {
            let text = format!(
                "There is no account action '{other}': use send_reset_link, send_temporary_sms, \
                 send_temporary_email, check_answer, change_phone, change_email, approve, \
                 reject, unlock or unfreeze."
            );
            return Ok(message(v, StatusCode::NOT_FOUND, text));
        }
    };
    Ok(match answer {
        StaffAnswer::Done(notice) => {
            tracing::info!(ticket = ticket.0, action = %action, staff_id = me.id, "account action");
            v.redirect(&format!(
                "/staff/tickets/{ticket}?account={}",
                notice.code()
            ))
        }
        StaffAnswer::Refused(why, text) => {
            let status = match why {
                Refusal::NoTicket => StatusCode::NOT_FOUND,
                Refusal::NoContractor | Refusal::Conflict => StatusCode::CONFLICT,
                Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::TooMany => StatusCode::TOO_MANY_REQUESTS,
            };
            message(v, status, text)
        }
    })
}
