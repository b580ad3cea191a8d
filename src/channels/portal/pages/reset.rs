//! The emailed link: the token moves to a short-lived cookie, then the new password.

use super::*;

/// Opening the emailed link: check the token, keep it in a short-lived cookie, and move to a
/// URL without it so it never sits in history or a referrer.
pub async fn reset_link(
    State(st): State<AppState>,
    mut v: Visitor,
    Path(token): Path<String>,
) -> Page {
    Ok(match st.recovery_in(v.lang).reset_target(&token).await? {
        Some(_) => {
            v.set_reset_token(token);
            v.redirect("/reset")
        }
        None => invalid_link(v, &st),
    })
}

pub async fn reset_empty(State(st): State<AppState>, v: Visitor) -> Response {
    invalid_link(v, &st)
}

pub async fn reset_page(State(st): State<AppState>, v: Visitor) -> Page {
    let Some(token) = v.reset_token() else {
        return Ok(invalid_link(v, &st));
    };
    reset_form(st, v, token, None).await
}

pub(super) async fn reset_form(
    st: AppState,
    mut v: Visitor,
    token: String,
    submitted: Option<NewPasswordForm>,
) -> Page {
    let Some(target) = st.recovery_in(v.lang).reset_target(&token).await? else {
        return Ok(invalid_link(v, &st));
    };
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) if !f.problems().is_empty() => {
            (Errors::from_codes(v.tr, &f.problems()), String::new())
        }
        Some(f) => match st
            .recovery_in(v.lang)
            .complete_reset(&token, &f.password_form())
            .await?
        {
            ResetOutcome::Done => {
                v.clear_reset_token();
                if let Some(s) = v.session.take() {
                    // The reset already ended every session of the account; this is the
                    // browser's own, which may belong to another account.
                    sessions::delete(st.store.pool(), &s.id_hash).await?;
                }
                v.unset(super::super::web::SESSION);
                return Ok(done(v, "reset", ""));
            }
            ResetOutcome::Invalid => return Ok(invalid_link(v, &st)),
            ResetOutcome::Fields(errors) => (Errors::from_codes(v.tr, &errors), f.question),
        },
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ResetPage {
        p: v.page(&st, None),
        title: v.tr.t("reset_title").to_string(),
        errs,
        username: target.username,
        needs_question: target.needs_question,
        question,
    };
    Ok(v.render(status, page))
}

pub async fn reset(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    let Some(token) = v.reset_token() else {
        return Ok(invalid_link(v, &st));
    };
    reset_form(st, v, token, Some(f)).await
}

/// A form posted straight to the link's URL (clients that keep no cookie).
pub async fn reset_with_token(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    reset_form(st, v, token, Some(f)).await
}
