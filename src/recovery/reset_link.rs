//! "Forgot password" and the emailed single-use link (also the account-setup link).

use super::*;

impl Recovery<'_> {
    /// "Forgot password": the same page and time whatever is typed; a reset link goes to the
    /// email on record when the username matches an account that has one.
    pub async fn request_reset(&self, typed: &str, source: &Source) -> Result<()> {
        let deadline = Instant::now() + self.st.settings.forgot_deadline;
        let result = self.request_reset_inner(typed, source).await;
        tokio::time::sleep_until(deadline).await;
        result
    }

    pub(super) async fn request_reset_inner(&self, typed: &str, source: &Source) -> Result<()> {
        if !self.st.guard.allow_source(source) {
            return Ok(());
        }
        // The roster is the account list: a contractor who never signed in gets a link too.
        let Some(contractor) = self.contractor_by_username(typed).await? else {
            return Ok(());
        };
        self.remember_language(&contractor).await?;
        self.send_reset_link(&contractor, Channel::Web, LinkKind::Reset)
            .await?;
        Ok(())
    }

    /// Issues a reset link (or an account-setup link: the same single-use link, worded for a
    /// first password) to the email on record, within the send budget.
    pub(super) async fn send_reset_link(
        &self,
        contractor: &Contractor,
        channel: Channel,
        kind: LinkKind,
    ) -> Result<SendOutcome> {
        let Some(email) = contractor.fields.email_on_record() else {
            return Ok(SendOutcome::NoDestination);
        };
        let now = self.now();
        let (mut tx, account) = match self
            .begin_send(contractor, "reset_link", email.as_str(), now)
            .await?
        {
            Ok(started) => started,
            Err(refused) => return Ok(refused),
        };
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
        let (name, city, username) = (
            &contractor.fields.contact_name,
            &self.st.settings.city.name,
            &self.username_of(contractor),
        );
        let minutes = lifetime.as_secs() / 60;
        let mail = match kind {
            LinkKind::Reset => messages::reset_link_email(
                self.lang,
                &messages::ResetLinkFields {
                    name,
                    city,
                    username,
                    link: &link,
                    minutes,
                },
            )?,
            LinkKind::Setup => messages::account_setup_email(
                self.lang,
                &messages::AccountSetupFields {
                    name,
                    city,
                    username,
                    link: &link,
                    minutes,
                },
            )?,
        };
        self.send_secret(
            tx,
            contractor,
            Outgoing::Email { to: &email, mail },
            Secret {
                action: "reset_link_issued",
                channel,
                expires,
            },
            now,
        )
        .await
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
            Channel::Web,
            format!("by reset link; {ended} session(s) ended"),
            now,
        )
        .await?;
        self.queue_change_notices(&mut tx, &contractor, account_id, HowChanged::ResetLink, now)
            .await?;
        self.commit_and_wake(tx).await?;
        Ok(ResetOutcome::Done)
    }
}
