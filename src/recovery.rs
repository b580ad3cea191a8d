//! The recovery service: the only place that decides. Verification, secrets, lockouts,
//! escalation and the notices that follow a credential change are written once here and used
//! by every channel (portal and kiosk now; phone, SMS and email later).
//!
//! Rules kept here:
//! - the guard is asked before any argon2 work, and failures are counted per contractor (or
//!   per typed identifier when it matches nobody, so unknown numbers lock just the same);
//! - refusals look and take the same whatever the reason (a response floor, a constant
//!   deadline for "forgot");
//! - a secret goes only to a phone or email on record, through the outbox, in the same
//!   transaction as the change that makes it, with an audit event.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::app::AppState;
use crate::audit::{self, AuditEvent};
use crate::clock::{Millis, duration_ms};
use crate::config::UsernameKind;
use crate::domain::email::{EmailAddress, mask_address};
use crate::domain::password::{self, PasswordProblem, PolicyContext};
use crate::domain::phone::PhoneNumber;
use crate::domain::questions;
use crate::domain::secret::{random_token, temporary_password, token_digest};
use crate::guard::{AccountState, Source};
use crate::mail::{PasswordChanged, ResetLink};
use crate::outbox::{queue_email, queue_sms};
use crate::passwords::HashError;
use crate::store::accounts::{self, Account};
use crate::store::contractors::{self, Contractor, Identifier};
use crate::store::registrations::{self, NewRegistration};
use crate::store::tickets::{self, NewTicket};
use crate::store::tokens::{self, Purpose};
use crate::store::{Tx, sessions};

/// A reset link may be sent to one account at most this often...
const RESET_EVERY: Duration = Duration::from_secs(5 * 60);
/// ...and at most this many times a day.
const RESETS_PER_DAY: i64 = 5;
/// "This wasn't me" links in change notices work this long.
const NOT_ME_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

type Result<T> = std::result::Result<T, RecoveryError>;

/// A field the contractor must fix, with a message code the channel words in its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str) -> Self {
        Self { field, code }
    }
}

/// Message code of a password problem.
pub fn problem_code(p: PasswordProblem) -> &'static str {
    use crate::domain::password::PasswordRule as R;
    match p {
        PasswordProblem::Rule(R::TooShort) => "too_short",
        PasswordProblem::Rule(R::TooLong) => "too_long",
        PasswordProblem::Rule(R::NoDigit) => "no_digit",
        PasswordProblem::Rule(R::NoLower) => "no_lower",
        PasswordProblem::Rule(R::NoUpper) => "no_upper",
        PasswordProblem::Rule(R::NoSpecial) => "no_special",
        PasswordProblem::Common => "common",
        PasswordProblem::ContainsUsername => "contains_username",
        PasswordProblem::ContainsLicense => "contains_license",
        PasswordProblem::ContainsCity => "contains_city",
    }
}

/// The result of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Success {
        account_id: i64,
        /// A temporary password was used (or staff require it): the forced change comes next.
        must_change: bool,
    },
    /// Wrong username, wrong password, waiting after failures, frozen: all the same.
    Refused,
}

/// What the contractor fills in to set a password.
#[derive(Debug, Clone, Default)]
pub struct PasswordForm {
    pub password: SecretString,
    pub confirm: SecretString,
    /// Required at the forced change and at registration; at a reset only when the account
    /// has none yet.
    pub question: Option<String>,
    pub answer: SecretString,
    pub answer_again: SecretString,
}

/// Where on record the kiosk may send something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// A reset link to the email on record.
    Email,
    /// A temporary password to the phone on record.
    Sms,
}

/// A contractor who proved knowledge of the phone on record, and the masked destinations.
#[derive(Debug, Clone)]
pub struct Verified {
    pub contractor_id: i64,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A live reset link's account.
#[derive(Debug, Clone)]
pub struct ResetTarget {
    pub account_id: i64,
    pub username: String,
    /// The account has no security question yet (a first login): the reset form asks for one.
    pub needs_question: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetOutcome {
    Done,
    /// Expired, used, voided, unknown or malformed: one answer for all.
    Invalid,
    Fields(Vec<FieldError>),
}

/// What the registration form holds.
#[derive(Debug, Clone, Default)]
pub struct RegistrationForm {
    pub license_number: String,
    pub business_name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub workers_comp_policy: String,
    pub workers_comp_expires: String,
    pub password: PasswordForm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// Matched the roster: the account exists and the contractor can sign in as `username`.
    Created { username: String },
    /// Staff will review it.
    Pending { ticket: i64 },
}

/// The recovery service over the app's state.
#[derive(Debug, Clone, Copy)]
pub struct Recovery<'a> {
    st: &'a AppState,
}

impl AppState {
    pub fn recovery(&self) -> Recovery<'_> {
        Recovery { st: self }
    }
}

/// True when `token` has the shape of a link token (64 hex digits); anything else is refused
/// without touching the store.
pub fn well_formed_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Recovery<'_> {
    fn now(&self) -> Millis {
        self.st.clock.now_ms()
    }

    fn identifier(&self) -> Identifier {
        match self.st.settings.city.username {
            UsernameKind::ContractorNumber => Identifier::ContractorNumber,
            UsernameKind::LicenseNumber => Identifier::LicenseNumber,
        }
    }

    /// The username a contractor signs in with, per the city's setting.
    pub fn username_of(&self, c: &Contractor) -> String {
        match self.st.settings.city.username {
            UsernameKind::LicenseNumber => c
                .fields
                .license_number
                .clone()
                .unwrap_or_else(|| c.fields.contractor_number.clone()),
            UsernameKind::ContractorNumber => c.fields.contractor_number.clone(),
        }
    }

    /// The guard's subject: the contractor when one matches, else what was typed.
    fn subject(typed: &str, found: Option<&Contractor>) -> String {
        match found {
            Some(c) => format!("contractor:{}", c.fields.contractor_number),
            None => {
                let t: String = typed.trim().to_uppercase().chars().take(64).collect();
                format!("unknown:{t}")
            }
        }
    }

    async fn contractor_by_username(&self, typed: &str) -> Result<Option<Contractor>> {
        if typed.trim().is_empty() || typed.len() > 64 {
            return Ok(None);
        }
        Ok(contractors::by_identifier(self.st.store.pool(), self.identifier(), typed).await?)
    }

    /// Signs in with the username and password (or a live temporary password).
    pub async fn login(
        &self,
        typed: &str,
        password: &SecretString,
        source: &Source,
    ) -> Result<LoginOutcome> {
        let deadline = Instant::now() + self.st.settings.response_floor;
        let outcome = self.login_inner(typed, password, source).await?;
        if outcome == LoginOutcome::Refused {
            tokio::time::sleep_until(deadline).await;
        }
        Ok(outcome)
    }

    async fn login_inner(
        &self,
        typed: &str,
        password: &SecretString,
        source: &Source,
    ) -> Result<LoginOutcome> {
        if !self.st.guard.allow_source(source) {
            return Ok(LoginOutcome::Refused);
        }
        let contractor = self.contractor_by_username(typed).await?;
        let subject = Self::subject(typed, contractor.as_ref());
        if let AccountState::Waiting { .. } = self.st.guard.account_state(&subject).await? {
            return Ok(LoginOutcome::Refused);
        }
        let account = match &contractor {
            Some(c) => accounts::by_contractor(self.st.store.pool(), c.id).await?,
            None => None,
        };
        let hasher = &self.st.hasher;
        let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
        // Busy (argon2's queue is full): the same refusal, after the same floor.
        let mut ok = match hasher.verify(stored, password).await {
            Err(HashError::Busy) => return Ok(LoginOutcome::Refused),
            checked => checked?,
        };
        let mut used_temporary = false;
        if !ok
            && let Some(temp) = account
                .as_ref()
                .and_then(|a| a.live_temporary_hash(self.now()))
        {
            ok = match hasher.verify(Some(temp), password).await {
                Err(HashError::Busy) => return Ok(LoginOutcome::Refused),
                checked => checked?,
            };
            used_temporary = ok;
        }
        let account = match account {
            Some(a) if ok && !a.is_frozen() => a,
            _ => {
                self.st.guard.record_failure(&subject).await?;
                return Ok(LoginOutcome::Refused);
            }
        };
        if used_temporary
            && !accounts::spend_temporary(self.st.store.pool(), account.id, self.now()).await?
        {
            return Ok(LoginOutcome::Refused);
        }
        self.st.guard.record_success(&subject).await?;
        Ok(LoginOutcome::Success {
            account_id: account.id,
            must_change: account.must_change() || used_temporary,
        })
    }

    async fn account_and_contractor(
        &self,
        account_id: i64,
    ) -> Result<Option<(Account, Contractor)>> {
        let Some(account) = accounts::by_id(self.st.store.pool(), account_id).await? else {
            return Ok(None);
        };
        let contractor = contractors::by_id(self.st.store.pool(), account.contractor_id).await?;
        Ok(contractor.map(|c| (account, c)))
    }

    /// The username shown for a signed-in account.
    pub async fn username_for_account(
        &self,
        account_id: i64,
    ) -> Result<Option<(String, Contractor, Account)>> {
        Ok(self
            .account_and_contractor(account_id)
            .await?
            .map(|(a, c)| (self.username_of(&c), c, a)))
    }

    /// Checks a new password and (when required) the security question, naming every problem.
    fn check_password_form(
        &self,
        form: &PasswordForm,
        username: &str,
        license: Option<&str>,
        question_required: bool,
    ) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let pw = form.password.expose_secret();
        if pw.is_empty() {
            errors.push(FieldError::new("password", "required"));
        } else {
            let ctx = PolicyContext {
                username,
                license_number: license,
                city: &self.st.settings.city.name,
            };
            errors.extend(
                password::problems(pw, &ctx)
                    .into_iter()
                    .map(|p| FieldError::new("password", problem_code(p))),
            );
        }
        if form.confirm.expose_secret().is_empty() {
            errors.push(FieldError::new("confirm", "required"));
        } else if form.confirm.expose_secret() != pw {
            errors.push(FieldError::new("confirm", "mismatch"));
        }
        if question_required {
            match form.question.as_deref() {
                None | Some("") => errors.push(FieldError::new("question", "required")),
                Some(q) if !questions::is_known(q) => {
                    errors.push(FieldError::new("question", "unknown_question"))
                }
                _ => {}
            }
            let answer = questions::normalize_answer(form.answer.expose_secret());
            if answer.is_empty() {
                errors.push(FieldError::new("answer", "required"));
            } else if answer.chars().count() < 2 {
                errors.push(FieldError::new("answer", "answer_too_short"));
            }
            let again = questions::normalize_answer(form.answer_again.expose_secret());
            if again.is_empty() {
                errors.push(FieldError::new("answer_again", "required"));
            } else if again != answer {
                errors.push(FieldError::new("answer_again", "answers_differ"));
            }
        }
        errors
    }

    async fn hash_answer(&self, form: &PasswordForm) -> Result<String> {
        let normalized =
            SecretString::from(questions::normalize_answer(form.answer.expose_secret()));
        Ok(self.st.hasher.hash(&normalized).await?)
    }

    /// "Require Login Change": sets the chosen password and security question.
    pub async fn change_forced(
        &self,
        account_id: i64,
        form: &PasswordForm,
    ) -> Result<std::result::Result<(), Vec<FieldError>>> {
        let Some((account, contractor)) = self.account_and_contractor(account_id).await? else {
            return Ok(Err(vec![FieldError::new("password", "required")]));
        };
        let username = self.username_of(&contractor);
        let mut errors = self.check_password_form(
            form,
            &username,
            contractor.fields.license_number.as_deref(),
            true,
        );
        if errors.is_empty()
            && let Some(temp) = account.temporary_hash.as_deref()
            && self.st.hasher.verify(Some(temp), &form.password).await?
        {
            errors.push(FieldError::new("password", "reuses_temporary"));
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let hash = self.st.hasher.hash(&form.password).await?;
        let answer_hash = self.hash_answer(form).await?;
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        accounts::set_password(
            &mut tx,
            account.id,
            &hash,
            form.question.as_deref().map(|q| (q, answer_hash.as_str())),
            now,
        )
        .await?;
        accounts::void_pending_secrets(&mut tx, contractor.id, now).await?;
        self.audit(
            &mut tx,
            &contractor,
            "password_changed",
            "web",
            "forced change after a temporary password".into(),
            now,
        )
        .await?;
        self.queue_change_notices(
            &mut tx,
            &contractor,
            account.id,
            "at your first sign-in",
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(Ok(()))
    }

    /// "Forgot password": the same page and time whatever is typed; a reset link goes to the
    /// email on record when the username matches an account that has one.
    pub async fn request_reset(&self, typed: &str, source: &Source) -> Result<()> {
        let deadline = Instant::now() + self.st.settings.forgot_deadline;
        let result = self.request_reset_inner(typed, source).await;
        tokio::time::sleep_until(deadline).await;
        result
    }

    async fn request_reset_inner(&self, typed: &str, source: &Source) -> Result<()> {
        if !self.st.guard.allow_source(source) {
            return Ok(());
        }
        let Some(contractor) = self.contractor_by_username(typed).await? else {
            return Ok(());
        };
        let Some(account) = accounts::by_contractor(self.st.store.pool(), contractor.id).await?
        else {
            return Ok(());
        };
        if account.is_frozen() {
            return Ok(());
        }
        self.send_reset_link(&contractor, Some(account), "web")
            .await?;
        Ok(())
    }

    /// Issues a reset link to the email on record, within the per-account throttle. Returns
    /// false when nothing was sent (no email, throttled).
    async fn send_reset_link(
        &self,
        contractor: &Contractor,
        account: Option<Account>,
        channel: &str,
    ) -> Result<bool> {
        let Some(email) = contractor
            .fields
            .email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok())
        else {
            return Ok(false);
        };
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let account = match account {
            Some(a) => a,
            None => accounts::ensure(&mut tx, contractor.id, now).await?,
        };
        let last = tokens::last_reset_issued(&mut tx, account.id).await?;
        if last.is_some_and(|t| now - t < duration_ms(RESET_EVERY))
            || tokens::resets_issued_since(&mut tx, account.id, now - 24 * 3600 * 1000).await?
                >= RESETS_PER_DAY
        {
            tx.rollback().await?;
            tracing::info!(contractor = %contractor.fields.contractor_number, "reset link throttled");
            return Ok(false);
        }
        // A newer link voids the older ones.
        accounts::void_pending_secrets(&mut tx, contractor.id, now).await?;
        let token = random_token(32);
        let lifetime = self.st.settings.reset_link_lifetime;
        let expires = now + duration_ms(lifetime);
        tokens::insert(
            &mut tx,
            &token_digest(&token),
            account.id,
            Purpose::Reset,
            channel,
            expires,
            now,
        )
        .await?;
        let link = self.link(&format!("reset/{token}"));
        let mail = ResetLink {
            name: contractor.fields.contact_name.clone(),
            city: self.st.settings.city.name.clone(),
            username: self.username_of(contractor),
            link,
            minutes: lifetime.as_secs() / 60,
        }
        .compose()?;
        queue_email(
            &mut tx,
            &self.st.settings.mail.from,
            &email,
            mail,
            Some(contractor.id),
            Some(expires),
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            contractor,
            "reset_link_issued",
            channel,
            format!("to {}", email.masked()),
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(true)
    }

    fn link(&self, path: &str) -> String {
        self.st
            .settings
            .public_url
            .join(path)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("{}{path}", self.st.settings.public_url))
    }

    /// The account of a live reset link, or `None` for any link that is not.
    pub async fn reset_target(&self, token: &str) -> Result<Option<ResetTarget>> {
        if !well_formed_token(token) {
            return Ok(None);
        }
        let Some(account_id) = tokens::live_account(
            self.st.store.pool(),
            &token_digest(token),
            Purpose::Reset,
            self.now(),
        )
        .await?
        else {
            return Ok(None);
        };
        Ok(self
            .account_and_contractor(account_id)
            .await?
            .map(|(a, c)| ResetTarget {
                account_id,
                username: self.username_of(&c),
                needs_question: a.security_question.is_none(),
            }))
    }

    /// Sets a new password through a reset link. The link is used up in the same transaction,
    /// so of two simultaneous submissions one succeeds and the other finds it invalid. Every
    /// session of the account ends, nobody is signed in, and a notice goes to the email and
    /// phone on record.
    pub async fn complete_reset(&self, token: &str, form: &PasswordForm) -> Result<ResetOutcome> {
        let Some(target) = self.reset_target(token).await? else {
            return Ok(ResetOutcome::Invalid);
        };
        let Some((_, contractor)) = self.account_and_contractor(target.account_id).await? else {
            return Ok(ResetOutcome::Invalid);
        };
        let errors = self.check_password_form(
            form,
            &target.username,
            contractor.fields.license_number.as_deref(),
            target.needs_question,
        );
        if !errors.is_empty() {
            return Ok(ResetOutcome::Fields(errors));
        }
        let hash = self.st.hasher.hash(&form.password).await?;
        let answer_hash = if target.needs_question {
            Some(self.hash_answer(form).await?)
        } else {
            None
        };
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let Some(account_id) =
            tokens::consume(&mut tx, &token_digest(token), Purpose::Reset, now).await?
        else {
            tx.rollback().await?;
            return Ok(ResetOutcome::Invalid);
        };
        let question = match (&form.question, &answer_hash) {
            (Some(q), Some(a)) => Some((q.as_str(), a.as_str())),
            _ => None,
        };
        accounts::set_password(&mut tx, account_id, &hash, question, now).await?;
        accounts::void_pending_secrets(&mut tx, contractor.id, now).await?;
        let ended = sessions::delete_for_account(&mut tx, account_id).await?;
        self.audit(
            &mut tx,
            &contractor,
            "password_reset",
            "web",
            format!("by reset link; {ended} session(s) ended"),
            now,
        )
        .await?;
        self.queue_change_notices(&mut tx, &contractor, account_id, "with a reset link", now)
            .await?;
        self.commit_and_wake(tx).await?;
        Ok(ResetOutcome::Done)
    }

    /// Tells the contractor on an independent channel (email and SMS on record) that a
    /// credential changed, with a "this wasn't me" link.
    async fn queue_change_notices(
        &self,
        tx: &mut Tx,
        contractor: &Contractor,
        account_id: i64,
        how: &str,
        now: Millis,
    ) -> Result<()> {
        let token = random_token(32);
        tokens::insert(
            tx,
            &token_digest(&token),
            account_id,
            Purpose::NotMe,
            "notice",
            now + duration_ms(NOT_ME_LIFETIME),
            now,
        )
        .await?;
        let link = self.link(&format!("not-me/{token}"));
        let city = &self.st.settings.city.name;
        if let Some(email) = contractor
            .fields
            .email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok())
        {
            let mail = PasswordChanged {
                name: contractor.fields.contact_name.clone(),
                city: city.clone(),
                username: self.username_of(contractor),
                how: how.to_string(),
                not_me_link: link.clone(),
            }
            .compose()?;
            queue_email(
                tx,
                &self.st.settings.mail.from,
                &email,
                mail,
                Some(contractor.id),
                None,
                now,
            )
            .await?;
        }
        if self.st.settings.twilio.sms_enabled
            && let Some(phone) = contractor
                .fields
                .phone
                .as_deref()
                .and_then(|p| PhoneNumber::parse(p).ok())
        {
            let body = format!(
                "{city}: the password of your contractor portal account was changed. Not you? {link}"
            );
            queue_sms(
                tx,
                &phone,
                "password_changed",
                body,
                Some(contractor.id),
                None,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Whether a "this wasn't me" link is live (for the confirmation page).
    pub async fn not_me_valid(&self, token: &str) -> Result<bool> {
        if !well_formed_token(token) {
            return Ok(false);
        }
        Ok(tokens::live_account(
            self.st.store.pool(),
            &token_digest(token),
            Purpose::NotMe,
            self.now(),
        )
        .await?
        .is_some())
    }

    /// "This wasn't me": freezes pending secrets and sign-ins, ends sessions, opens an urgent
    /// ticket. False when the link is not live.
    pub async fn not_me(&self, token: &str) -> Result<bool> {
        if !well_formed_token(token) {
            return Ok(false);
        }
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let Some(account_id) =
            tokens::consume(&mut tx, &token_digest(token), Purpose::NotMe, now).await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let Some((_, contractor)) = self.account_and_contractor(account_id).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        accounts::freeze(&mut tx, account_id, now).await?;
        accounts::void_pending_secrets(&mut tx, contractor.id, now).await?;
        sessions::delete_for_account(&mut tx, account_id).await?;
        tickets::open(
            &mut tx,
            &NewTicket {
                kind: "not_me",
                priority: "urgent",
                contractor_id: Some(contractor.id),
                channel: "web",
                summary: format!(
                    "Contractor {} reports a password change they did not make; account frozen",
                    contractor.fields.contractor_number
                ),
                detail: "Pending secrets voided and sessions ended. Call the contractor on the \
                         phone on record before unfreezing."
                    .into(),
                outbox_id: None,
            },
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            &contractor,
            "account_frozen",
            "web",
            "this wasn't me".into(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The kiosk's first step: a contractor or license number and the phone on record. Both
    /// must match; a failure counts against the contractor like a wrong password and says
    /// nothing about which part was wrong.
    pub async fn verify_identity(
        &self,
        typed_number: &str,
        typed_phone: &str,
        source: &Source,
    ) -> Result<Option<Verified>> {
        let deadline = Instant::now() + self.st.settings.response_floor;
        let found = self
            .verify_identity_inner(typed_number, typed_phone, source)
            .await?;
        if found.is_none() {
            tokio::time::sleep_until(deadline).await;
        }
        Ok(found)
    }

    async fn verify_identity_inner(
        &self,
        typed_number: &str,
        typed_phone: &str,
        source: &Source,
    ) -> Result<Option<Verified>> {
        if !self.st.guard.allow_source(source)
            || typed_number.trim().is_empty()
            || typed_number.len() > 64
        {
            return Ok(None);
        }
        let pool = self.st.store.pool();
        let mut contractor =
            contractors::by_identifier(pool, Identifier::ContractorNumber, typed_number).await?;
        if contractor.is_none() {
            contractor =
                contractors::by_identifier(pool, Identifier::LicenseNumber, typed_number).await?;
        }
        let subject = Self::subject(typed_number, contractor.as_ref());
        if let AccountState::Waiting { .. } = self.st.guard.account_state(&subject).await? {
            return Ok(None);
        }
        let phone = PhoneNumber::parse(typed_phone).ok();
        let matched = match (&contractor, &phone) {
            (Some(c), Some(p)) => {
                c.fields.phone.as_deref() == Some(p.as_str())
                    || c.fields.alt_phone.as_deref() == Some(p.as_str())
            }
            _ => false,
        };
        let Some(c) = contractor.filter(|_| matched) else {
            self.st.guard.record_failure(&subject).await?;
            return Ok(None);
        };
        self.st.guard.record_success(&subject).await?;
        let sms = self.st.settings.twilio.sms_enabled;
        Ok(Some(Verified {
            contractor_id: c.id,
            email: c.fields.email.as_deref().map(mask_address),
            phone: c.fields.phone.as_deref().filter(|_| sms).map(mask_address),
        }))
    }

    /// Sends a reset link (email) or a temporary password (SMS) to where on record the
    /// verified contractor chose. Returns the masked destination, or `None` when there is no
    /// such contact on record or the throttle holds it back.
    pub async fn send_recovery(
        &self,
        contractor_id: i64,
        destination: Destination,
        channel: &str,
    ) -> Result<Option<String>> {
        let Some(contractor) = contractors::by_id(self.st.store.pool(), contractor_id).await?
        else {
            return Ok(None);
        };
        let account = accounts::by_contractor(self.st.store.pool(), contractor.id).await?;
        if account.as_ref().is_some_and(Account::is_frozen) {
            return Ok(None);
        }
        match destination {
            Destination::Email => {
                let sent = self.send_reset_link(&contractor, account, channel).await?;
                Ok(sent
                    .then(|| contractor.fields.email.as_deref().map(mask_address))
                    .flatten())
            }
            Destination::Sms => self.send_temporary_password(&contractor, channel).await,
        }
    }

    /// A temporary password by SMS to the phone on record, single use, changed at sign-in.
    async fn send_temporary_password(
        &self,
        contractor: &Contractor,
        channel: &str,
    ) -> Result<Option<String>> {
        if !self.st.settings.twilio.sms_enabled {
            return Ok(None);
        }
        let Some(phone) = contractor
            .fields
            .phone
            .as_deref()
            .and_then(|p| PhoneNumber::parse(p).ok())
        else {
            return Ok(None);
        };
        let temp = SecretString::from(temporary_password());
        let hash = self.st.hasher.hash(&temp).await?;
        let now = self.now();
        let lifetime = self.st.settings.temporary_password_lifetime;
        let expires = now + duration_ms(lifetime);
        let mut tx = self.st.store.begin_write().await?;
        let account = accounts::ensure(&mut tx, contractor.id, now).await?;
        accounts::set_temporary(&mut tx, account.id, &hash, expires, now).await?;
        let body = format!(
            "{}: your temporary contractor portal password is {} (username {}). It works once, for {} minutes; you will choose a new password when you sign in.",
            self.st.settings.city.name,
            temp.expose_secret(),
            self.username_of(contractor),
            lifetime.as_secs() / 60
        );
        queue_sms(
            &mut tx,
            &phone,
            "temporary_password",
            body,
            Some(contractor.id),
            Some(expires),
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            contractor,
            "temporary_password_issued",
            channel,
            format!("by SMS to {}", phone.masked()),
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(Some(phone.masked()))
    }

    /// "Setup an Account". A license on the roster whose phone or email matches, and that has
    /// no password yet, gets its account at once; anything else waits for staff.
    pub async fn register(
        &self,
        form: &RegistrationForm,
        source: &Source,
    ) -> Result<std::result::Result<RegistrationOutcome, Vec<FieldError>>> {
        let mut errors = Vec::new();
        let required = [
            ("license_number", &form.license_number),
            ("business_name", &form.business_name),
            ("contact_name", &form.contact_name),
            ("phone", &form.phone),
            ("email", &form.email),
        ];
        for (field, value) in required {
            if value.trim().is_empty() {
                errors.push(FieldError::new(field, "required"));
            } else if value.chars().count() > 200 {
                errors.push(FieldError::new(field, "too_long_field"));
            }
        }
        let phone = PhoneNumber::parse(&form.phone).ok();
        if !form.phone.trim().is_empty() && phone.is_none() {
            errors.push(FieldError::new("phone", "invalid_phone"));
        }
        let email = EmailAddress::parse(&form.email).ok();
        if !form.email.trim().is_empty() && email.is_none() {
            errors.push(FieldError::new("email", "invalid_email"));
        }
        let policy = form.workers_comp_policy.trim();
        let expires = form.workers_comp_expires.trim();
        if !policy.is_empty() || !expires.is_empty() {
            if policy.is_empty() {
                errors.push(FieldError::new("workers_comp_policy", "required"));
            }
            match parse_date(expires) {
                None if expires.is_empty() => {
                    errors.push(FieldError::new("workers_comp_expires", "required"))
                }
                None => errors.push(FieldError::new("workers_comp_expires", "invalid_date")),
                Some(day) if day_ms(day) <= self.now() => {
                    errors.push(FieldError::new("workers_comp_expires", "expired_date"))
                }
                Some(_) => {}
            }
        }
        let license = form.license_number.trim();
        errors.extend(self.check_password_form(&form.password, license, Some(license), true));
        let (Some(phone), Some(email)) = (phone, email) else {
            return Ok(Err(errors));
        };
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        if !self.st.guard.allow_source(source) {
            return Ok(Err(vec![FieldError::new("license_number", "try_later")]));
        }

        let hash = self.st.hasher.hash(&form.password.password).await?;
        let answer_hash = self.hash_answer(&form.password).await?;
        let question = form.password.question.clone().unwrap_or_default();
        let now = self.now();
        let pool = self.st.store.pool();
        let contractor =
            contractors::by_identifier(pool, Identifier::LicenseNumber, license).await?;
        let mut tx = self.st.store.begin_write().await?;
        if let Some(c) = contractor {
            let contact_matches = c.fields.phone.as_deref() == Some(phone.as_str())
                || c.fields.alt_phone.as_deref() == Some(phone.as_str())
                || c.fields
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email.as_str()));
            let account = accounts::ensure(&mut tx, c.id, now).await?;
            if contact_matches && account.password_hash.is_none() && !account.is_frozen() {
                accounts::set_password(
                    &mut tx,
                    account.id,
                    &hash,
                    Some((&question, &answer_hash)),
                    now,
                )
                .await?;
                accounts::void_pending_secrets(&mut tx, c.id, now).await?;
                self.audit(
                    &mut tx,
                    &c,
                    "account_registered",
                    "web",
                    "matched the roster".into(),
                    now,
                )
                .await?;
                self.queue_change_notices(
                    &mut tx,
                    &c,
                    account.id,
                    "when the account was set up",
                    now,
                )
                .await?;
                self.commit_and_wake(tx).await?;
                return Ok(Ok(RegistrationOutcome::Created {
                    username: self.username_of(&c),
                }));
            }
        }
        let reg = registrations::insert(
            &mut tx,
            &NewRegistration {
                license_number: license,
                business_name: form.business_name.trim(),
                contact_name: form.contact_name.trim(),
                phone: phone.as_str(),
                email: email.as_str(),
                workers_comp_policy: (!policy.is_empty()).then_some(policy),
                workers_comp_expires: (!expires.is_empty()).then_some(expires),
                password_hash: &hash,
                security_question: &question,
                security_answer_hash: &answer_hash,
            },
            now,
        )
        .await?;
        let ticket = tickets::open(
            &mut tx,
            &NewTicket {
                kind: "registration",
                priority: "normal",
                contractor_id: None,
                channel: "web",
                summary: format!(
                    "New contractor registration: license {license}, {}",
                    form.business_name.trim()
                ),
                detail: format!(
                    "Registration #{reg}: contact {}, phone {}, email {}. No roster entry with \
                     this license and contact, or the account already exists.",
                    form.contact_name.trim(),
                    phone.masked(),
                    email.masked()
                ),
                outbox_id: None,
            },
            now,
        )
        .await?;
        registrations::link_ticket(&mut tx, reg, ticket).await?;
        tx.commit().await?;
        Ok(Ok(RegistrationOutcome::Pending { ticket }))
    }

    /// Commits a transaction that queued messages, then wakes the outbox worker.
    async fn commit_and_wake(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.st.outbox_wake.notify_one();
        Ok(())
    }

    async fn audit(
        &self,
        tx: &mut Tx,
        contractor: &Contractor,
        action: &str,
        channel: &str,
        detail: String,
        now: Millis,
    ) -> Result<()> {
        let subject = format!("contractor:{}", contractor.fields.contractor_number);
        audit::append(
            tx,
            &AuditEvent {
                actor: &subject,
                action,
                subject: &subject,
                channel,
                detail,
            },
            now,
        )
        .await?;
        Ok(())
    }
}

/// `YYYY-MM-DD` as (year, month, day), checked.
fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut parts = s.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1900..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (d >= 1 && d <= days[(m - 1) as usize]).then_some((y, m, d))
}

/// The end of that day (UTC) in milliseconds: a policy is valid through its expiry date.
fn day_ms((y, m, d): (i64, u32, u32)) -> Millis {
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days + 1) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2028-02-29"), Some((2028, 2, 29)));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("tomorrow"), None);
        // 1970-01-01 ends at one day.
        assert_eq!(day_ms((1970, 1, 1)), 86_400_000);
        assert_eq!(day_ms((2026, 1, 5)), 1_767_657_600_000);
    }

    #[test]
    fn token_shape() {
        assert!(well_formed_token(&"a".repeat(64)));
        assert!(!well_formed_token(&"a".repeat(63)));
        assert!(!well_formed_token(&format!("{}\0", "a".repeat(63))));
        assert!(!well_formed_token(""));
    }
}
