//! The administrator's page (`GET /staff/admin`) and its forms: add a staff login
//! (`POST /staff/admin/staff`), disable one (`POST /staff/admin/staff/disable`), set or clear
//! when staff answer the phone (`POST /staff/admin/hours`). Other staff get 403; the desk
//! checks the role again, so no form can be posted around the page.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::pages::{Page, message, staff_form};
use super::web::{StaffVisitor, desk};
use crate::app::AppState;
use crate::channels::web_session::{FIELD_MAX, SECRET_MAX};
use crate::clock::Millis;
use crate::staff::admin::{AddOutcome, DisableOutcome, HoursOutcome, NewLogin, ROLES};
use crate::staff::hours::ScheduleForm;
use crate::store::staff::{self, StaffMember};

#[derive(Template)]
#[template(path = "staff/admin.html")]
struct AdminPage {
    title: String,
    problem: bool,
    who: Option<String>,
    csrf: String,
    notice: Option<String>,
    /// Problems with the form just posted: (field id, sentence).
    errors: Vec<(String, String)>,
    logins: Vec<Login>,
    add: AddFields,
    hours: HoursFields,
    /// Who set the schedule in force and when, or that it is the configuration file's.
    hours_source: String,
}

struct Login {
    name: String,
    email: String,
    role: String,
    disabled: bool,
    me: bool,
}

/// What was typed in the add form, kept after a refusal (never the password).
#[derive(Default)]
struct AddFields {
    email: String,
    name: String,
    role: String,
}

impl AddFields {
    /// The roles to offer, the typed one selected.
    fn roles(&self) -> Vec<(&'static str, bool)> {
        ROLES.iter().map(|r| (*r, *r == self.role)).collect()
    }
}

#[derive(Default)]
struct HoursFields {
    schedule: String,
    holidays: String,
    time_zone: String,
    text: String,
}

// No Debug: it holds the password.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    email: String,
    name: String,
    role: String,
    password: SecretString,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct DisableForm {
    csrf: String,
    email: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct HoursForm {
    csrf: String,
    schedule: String,
    holidays: String,
    time_zone: String,
    text: String,
    /// `clear` goes back to the configuration file's schedule.
    action: String,
}

/// The signed-in administrator, or the answer for anyone else (sign in; 403).
fn admin_of(v: StaffVisitor) -> Result<(StaffVisitor, StaffMember), Box<Response>> {
    match v.member.as_ref().map(|m| m.staff.clone()) {
        None => Err(Box::new(v.redirect("/staff/login"))),
        Some(me) if !me.is_admin() => Err(Box::new(not_admin(v))),
        Some(me) => Ok((v, me)),
    }
}

fn not_admin(v: StaffVisitor) -> Response {
    let text = "Only an administrator can add or disable staff logins and change the office \
                hours. Ask an administrator.";
    message(v, StatusCode::FORBIDDEN, text.into())
}

macro_rules! admin {
    ($v:ident) => {
        match admin_of($v) {
            Ok(found) => found,
            Err(answer) => return Ok(*answer),
        }
    };
}

/// Page state before any form: the logins and the schedule in force.
async fn page(
    st: &AppState,
    v: &StaffVisitor,
    me: &StaffMember,
    notice: Option<String>,
) -> Result<AdminPage, sqlx::Error> {
    let logins = staff::all(st.store.pool())
        .await?
        .into_iter()
        .map(|m| Login {
            me: m.id == me.id,
            disabled: m.is_disabled(),
            name: m.name,
            email: m.email,
            role: m.role,
        })
        .collect();
    let (hours, hours_source) = match st.hours.current_override() {
        Some(o) => (
            HoursFields {
                schedule: o.schedule,
                holidays: o.holidays,
                time_zone: o.time_zone,
                text: o.text.unwrap_or_default(),
            },
            format!("Set by {} on {}.", o.by, when(o.at)),
        ),
        None => (
            HoursFields {
                time_zone: st
                    .settings
                    .staff_hours
                    .as_ref()
                    .map_or(crate::domain::office_hours::CityZone::DEFAULT, |h| {
                        h.zone.name()
                    })
                    .to_string(),
                ..HoursFields::default()
            },
            match &st.settings.staff_hours {
                Some(h) => format!(
                    "From the configuration file: {}.",
                    h.describe(crate::domain::language::Lang::En)
                ),
                None => "None set: calls are put through to staff at any time.".into(),
            },
        ),
    };
    Ok(AdminPage {
        title: "Administration".into(),
        problem: false,
        who: Some(me.name.clone()),
        csrf: v.csrf.clone(),
        notice,
        errors: Vec::new(),
        logins,
        add: AddFields {
            role: "staff".into(),
            ..AddFields::default()
        },
        hours,
        hours_source,
    })
}

/// A UTC date and time for "set by … on …".
fn when(at: Millis) -> String {
    jiff::Timestamp::from_millisecond(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdminQuery {
    done: String,
}

fn notice_of(done: &str) -> Option<String> {
    let text = match done {
        "added" => "Staff login added. Give its owner the password in person or by phone.",
        "disabled" => "Staff login disabled: it can no longer sign in and its sessions ended.",
        "hours" => "Office hours saved: the phone line uses them now.",
        "hours-cleared" => "Office hours cleared: the configuration file's apply again.",
        _ => return None,
    };
    Some(text.into())
}

pub async fn admin_page(
    State(st): State<AppState>,
    v: StaffVisitor,
    axum::extract::Query(q): axum::extract::Query<AdminQuery>,
) -> Page {
    let (v, me) = admin!(v);
    let p = page(&st, &v, &me, notice_of(&q.done)).await?;
    Ok(v.render(StatusCode::OK, p))
}

fn refused(v: StaffVisitor, mut p: AdminPage, errors: Vec<(String, String)>) -> Response {
    p.problem = true;
    p.errors = errors;
    v.render(StatusCode::UNPROCESSABLE_ENTITY, p)
}

pub async fn add_login(
    State(st): State<AppState>,
    v: StaffVisitor,
    form: Result<Form<AddForm>, FormRejection>,
) -> Page {
    let f = staff_form!(v, form);
    let (v, me) = admin!(v);
    let mut p = page(&st, &v, &me, None).await?;
    p.add = AddFields {
        email: f.email.trim().to_string(),
        name: f.name.trim().to_string(),
        role: f.role.clone(),
    };
    let too_long = f.email.chars().count() > FIELD_MAX
        || f.name.chars().count() > FIELD_MAX
        || f.password.expose_secret().chars().count() > SECRET_MAX;
    if too_long {
        let text = format!("The email, name or password is longer than {FIELD_MAX} characters.");
        return Ok(refused(v, p, vec![("add-email".into(), text)]));
    }
    let new = NewLogin {
        email: &f.email,
        name: &f.name,
        role: &f.role,
        password: &f.password,
    };
    Ok(match desk(&st).add_login(&me, new).await? {
        AddOutcome::Added(_) => v.redirect("/staff/admin?done=added"),
        AddOutcome::NotAdmin => not_admin(v),
        AddOutcome::Exists => {
            let text = format!("A staff login for {} already exists.", p.add.email);
            refused(v, p, vec![("add-email".into(), text)])
        }
        AddOutcome::Refused(problems) => {
            let errors = problems
                .into_iter()
                .map(|e| (format!("add-{}", e.field), e.message))
                .collect();
            refused(v, p, errors)
        }
    })
}

pub async fn disable_login(
    State(st): State<AppState>,
    v: StaffVisitor,
    form: Result<Form<DisableForm>, FormRejection>,
) -> Page {
    let f = staff_form!(v, form);
    let (v, me) = admin!(v);
    Ok(match desk(&st).disable_login(&me, &f.email).await? {
        DisableOutcome::Disabled => v.redirect("/staff/admin?done=disabled"),
        DisableOutcome::NotAdmin => not_admin(v),
        DisableOutcome::Yourself => message(
            v,
            StatusCode::CONFLICT,
            "You cannot disable your own login: ask another administrator.".into(),
        ),
        DisableOutcome::NoSuchLogin => message(
            v,
            StatusCode::NOT_FOUND,
            format!("No enabled staff login has the email '{}'.", f.email.trim()),
        ),
    })
}

pub async fn set_hours(
    State(st): State<AppState>,
    v: StaffVisitor,
    form: Result<Form<HoursForm>, FormRejection>,
) -> Page {
    let f = staff_form!(v, form);
    let (v, me) = admin!(v);
    let desk = desk(&st);
    let outcome = if f.action == "clear" {
        desk.clear_office_hours(&me, &st.hours).await?
    } else {
        let typed = ScheduleForm {
            schedule: f.schedule.chars().take(FIELD_MAX * 4).collect(),
            holidays: f.holidays.chars().take(FIELD_MAX * 4).collect(),
            time_zone: f.time_zone.chars().take(FIELD_MAX).collect(),
            text: f.text.chars().take(FIELD_MAX).collect(),
        };
        desk.set_office_hours(&me, &typed, &st.hours).await?
    };
    Ok(match outcome {
        HoursOutcome::Saved => v.redirect("/staff/admin?done=hours"),
        HoursOutcome::Cleared => v.redirect("/staff/admin?done=hours-cleared"),
        HoursOutcome::NotAdmin => not_admin(v),
        HoursOutcome::Refused(problems) => {
            let mut p = page(&st, &v, &me, None).await?;
            p.hours = HoursFields {
                schedule: f.schedule,
                holidays: f.holidays,
                time_zone: f.time_zone,
                text: f.text,
            };
            let errors = problems
                .into_iter()
                .map(|e| (format!("hours-{}", e.field), e.message))
                .collect();
            refused(v, p, errors)
        }
    })
}
