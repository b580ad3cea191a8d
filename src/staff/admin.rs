//! What only an administrator may do from the staff pages: add and disable staff logins, and
//! set when staff answer the phone. The role is checked here, in the decision, not only by
//! the page that offers the form; a refusal changes nothing. Every change is audited with the
//! administrator's name in the same transaction.

use secrecy::{ExposeSecret, SecretString};

use super::hours::{Override, PREFIX, ScheduleForm, ScheduleProblem, StaffHours};
use super::{Desk, Result};
use crate::audit::{self, AuditEvent};
use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::domain::email::EmailAddress;
use crate::domain::password::broken_rules;
use crate::store::staff::StaffMember;
use crate::store::{Store, Tx, city_settings, is_unique_violation, sessions, staff};

/// The two roles.
pub const ROLES: [&str; 2] = ["staff", "admin"];

/// A login to add, as typed.
pub struct NewLogin<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password: &'a SecretString,
}

/// What is wrong with a login to add: the field and a sentence for the page or the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProblem {
    pub field: &'static str,
    pub message: String,
}

/// A login to add, checked: its email, its trimmed name.
pub fn check_login(
    new: &NewLogin<'_>,
) -> std::result::Result<(EmailAddress, String), Vec<LoginProblem>> {
    let mut problems = Vec::new();
    let email = EmailAddress::parse(new.email.trim())
        .map_err(|e| {
            problems.push(LoginProblem {
                field: "email",
                message: format!("The email '{}' {e}.", new.email.trim()),
            })
        })
        .ok();
    let name = new.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        problems.push(LoginProblem {
            field: "name",
            message: "Give the staff member's name (at most 100 characters).".into(),
        });
    }
    if !ROLES.contains(&new.role) {
        problems.push(LoginProblem {
            field: "role",
            message: format!("The role must be staff or admin, not '{}'.", new.role),
        });
    }
    let broken = broken_rules(new.password.expose_secret());
    if !broken.is_empty() {
        let rules: Vec<String> = broken.iter().map(ToString::to_string).collect();
        problems.push(LoginProblem {
            field: "password",
            message: format!("The password {}.", rules.join(", ")),
        });
    }
    match email {
        Some(email) if problems.is_empty() => Ok((email, name)),
        _ => Err(problems),
    }
}

/// Adds a checked login with its argon2 hash, audited as `actor` on `channel`. `Ok(None)`
/// when a login with that email exists (two adds at once: one wins).
pub async fn insert_login(
    store: &Store,
    (email, name): (&EmailAddress, &str),
    role: &str,
    hash: &str,
    actor: &str,
    channel: Channel,
    now: Millis,
) -> std::result::Result<Option<i64>, sqlx::Error> {
    if staff::by_email(store.pool(), email.as_str())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let mut tx = store.begin_write().await?;
    let id = match staff::insert(&mut tx, email.as_str(), name, role, hash, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    audit::append(
        &mut tx,
        &AuditEvent {
            actor,
            action: "staff_added",
            subject: &format!("staff:{email}"),
            channel,
            detail: format!("role {role}"),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

#[derive(Debug)]
pub enum AddOutcome {
    Added(i64),
    NotAdmin,
    Refused(Vec<LoginProblem>),
    Exists,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DisableOutcome {
    Disabled,
    NotAdmin,
    /// An administrator cannot lock themselves out.
    Yourself,
    NoSuchLogin,
}

#[derive(Debug)]
pub enum HoursOutcome {
    Saved,
    /// Back to the configuration file's schedule.
    Cleared,
    NotAdmin,
    Refused(Vec<ScheduleProblem>),
}

impl Desk<'_> {
    /// Adds a staff login, if `by` is an administrator.
    pub async fn add_login(&self, by: &StaffMember, new: NewLogin<'_>) -> Result<AddOutcome> {
        if !by.is_admin() {
            return Ok(AddOutcome::NotAdmin);
        }
        let (email, name) = match check_login(&new) {
            Ok(checked) => checked,
            Err(problems) => return Ok(AddOutcome::Refused(problems)),
        };
        let hash = self.hasher.hash(new.password).await?;
        let added = insert_login(
            self.store,
            (&email, &name),
            new.role,
            &hash,
            &by.name,
            Channel::Staff,
            self.clock.now_ms(),
        )
        .await?;
        Ok(added.map_or(AddOutcome::Exists, AddOutcome::Added))
    }

    /// Disables a login and ends its sessions, if `by` is an administrator and not its owner.
    pub async fn disable_login(&self, by: &StaffMember, email: &str) -> Result<DisableOutcome> {
        if !by.is_admin() {
            return Ok(DisableOutcome::NotAdmin);
        }
        if by.email.eq_ignore_ascii_case(email.trim()) {
            return Ok(DisableOutcome::Yourself);
        }
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let Some(id) = staff::disable(&mut tx, email.trim(), now).await? else {
            return Ok(DisableOutcome::NoSuchLogin);
        };
        let ended = sessions::delete_for_staff(&mut tx, id).await?;
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &by.name,
                action: "staff_disabled",
                subject: &format!("staff:{}", email.trim().to_lowercase()),
                channel: Channel::Staff,
                detail: format!("sessions ended: {ended}"),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(DisableOutcome::Disabled)
    }

    /// Sets when staff answer the phone (in force at once on this instance, within
    /// [`super::hours::REFRESH`] on the others), if `by` is an administrator.
    pub async fn set_office_hours(
        &self,
        by: &StaffMember,
        form: &ScheduleForm,
        hours: &StaffHours,
    ) -> Result<HoursOutcome> {
        if !by.is_admin() {
            return Ok(HoursOutcome::NotAdmin);
        }
        let mut schedule = match form.check() {
            Ok(s) => s,
            Err(problems) => return Ok(HoursOutcome::Refused(problems)),
        };
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        for (name, value) in schedule.rows() {
            city_settings::set(&mut tx, name, &value, &by.name, now).await?;
        }
        audit_hours(&mut tx, by, &schedule_words(&schedule), now).await?;
        tx.commit().await?;
        schedule.by = by.name.clone();
        schedule.at = now;
        hours.replace(Some(schedule));
        Ok(HoursOutcome::Saved)
    }

    /// Goes back to the configuration file's schedule, if `by` is an administrator.
    pub async fn clear_office_hours(
        &self,
        by: &StaffMember,
        hours: &StaffHours,
    ) -> Result<HoursOutcome> {
        if !by.is_admin() {
            return Ok(HoursOutcome::NotAdmin);
        }
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        city_settings::clear(&mut tx, PREFIX).await?;
        audit_hours(&mut tx, by, "back to the configuration file", now).await?;
        tx.commit().await?;
        hours.replace(None);
        Ok(HoursOutcome::Cleared)
    }
}

fn schedule_words(s: &Override) -> String {
    let mut words = format!("{} ({})", s.schedule, s.time_zone);
    if !s.holidays.is_empty() {
        words.push_str(&format!("; holidays {}", s.holidays));
    }
    words
}

async fn audit_hours(
    tx: &mut Tx,
    by: &StaffMember,
    detail: &str,
    now: Millis,
) -> std::result::Result<(), sqlx::Error> {
    audit::append(
        tx,
        &AuditEvent {
            actor: &by.name,
            action: "office_hours_changed",
            subject: "staff.hours",
            channel: Channel::Staff,
            detail: detail.to_string(),
        },
        now,
    )
    .await?;
    Ok(())
}
