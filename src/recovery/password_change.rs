//! "Require Login Change" and the password policy check shared by every form that sets one.

use super::*;

impl Recovery<'_> {
    /// Checks a new password and (when required) the security question, naming every problem.
    pub(super) fn check_password_form(
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

    pub(super) async fn hash_answer(&self, form: &PasswordForm) -> Result<String> {
        let normalized =
            SecretString::from(questions::normalize_answer(form.answer.expose_secret()));
        Ok(self.st.hasher.hash(&normalized).await?)
    }

    /// Whether the signed-in session `session_hash` may make the forced change: only the one
    /// that signed in with the temporary password (or while a change was required). A session
    /// from before ("remember me" on another browser) may not choose the new password.
    pub async fn may_change_password(&self, session_hash: &str) -> Result<bool> {
        Ok(sessions::get(self.st.store.pool(), session_hash)
            .await?
            .is_some_and(|s| s.may_change_password()))
    }

    /// "Require Login Change": sets the chosen password and security question, from the
    /// session that signed in with the temporary password. Every session of the account ends
    /// (the channel signs the contractor in again with a fresh one).
    pub async fn change_forced(
        &self,
        session_hash: &str,
        form: &PasswordForm,
    ) -> Result<ChangeOutcome> {
        let session = sessions::get(self.st.store.pool(), session_hash).await?;
        let Some(account_id) = session
            .filter(|s| s.may_change_password())
            .and_then(|s| s.account_id)
        else {
            return Ok(ChangeOutcome::NotThisSession);
        };
        let Some((account, contractor)) = self.account_and_contractor(account_id).await? else {
            return Ok(ChangeOutcome::NotThisSession);
        };
        if !account.must_change() || account.is_frozen() {
            return Ok(ChangeOutcome::NotThisSession);
        }
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
            return Ok(ChangeOutcome::Fields(errors));
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
        let ended = sessions::delete_for_account(&mut tx, account.id).await?;
        self.audit(
            &mut tx,
            &contractor,
            "password_changed",
            Channel::Web,
            format!("forced change after a temporary password; {ended} session(s) ended"),
            now,
        )
        .await?;
        self.queue_change_notices(
            &mut tx,
            &contractor,
            account.id,
            HowChanged::FirstSignIn,
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(ChangeOutcome::Done { account_id })
    }
}
