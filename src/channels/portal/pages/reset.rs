//! The emailed link: the token moves to a short-lived cookie, then the new password.

use super::*;

/// Opening the emailed link: check the token, keep it in a short-lived cookie, and move to a
/// URL without it so it never sits in history or a referrer.
pub async fn reset_link(
    State(st): State<AppState>,
    mut v: Visitor,
    Path(token): Path<String>,
) -> Response {
    match st.recovery_in(v.lang).reset_target(&token).await {
        Ok(Some(_)) => {
            v.set_reset_token(token);
            v.redirect("/reset")
        }
        Ok(None) => invalid_link(v, &st),
        Err(e) => server_error(v, &st, &e),
    }
}

pub async fn reset_empty(State(st): State<AppState>, v: Visitor) -> Response {
    invalid_link(v, &st)
}

pub async fn reset_page(State(st): State<AppState>, v: Visitor) -> Response {
    let Some(token) = v.reset_token() else {
        return invalid_link(v, &st);
    };
    reset_form(st, v, token, None).await
}

pub(super) async fn reset_form(
    st: AppState,
    mut v: Visitor,
    token: String,
    submitted: Option<NewPasswordForm>,
) -> Response {
    let target = match st.recovery_in(v.lang).reset_target(&token).await {
        Ok(Some(t)) => t,
        Ok(None) => return invalid_link(v, &st),
        Err(e) => return server_error(v, &st, &e),
    };
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) if !f.problems().is_empty() => {
            (Errors::from_codes(v.tr, &f.problems()), String::new())
        }
        Some(f) => match st
            .recovery_in(v.lang)
            .complete_reset(&token, &f.password_form())
            .await
        {
            Ok(ResetOutcome::Done) => {
                v.clear_reset_token();
                if let Some(s) = v.session.take() {
                    let _ = sessions::delete(st.store.pool(), &s.id_hash).await;
                }
                v.unset(super::super::web::SESSION);
                return done(v, "reset", "");
            }
            Ok(ResetOutcome::Invalid) => return invalid_link(v, &st),
            Ok(ResetOutcome::Fields(errors)) => (Errors::from_codes(v.tr, &errors), f.question),
            Err(e) => return server_error(v, &st, &e),
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
    v.render(status, page)
}

pub async fn reset(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    let Some(token) = v.reset_token() else {
        return invalid_link(v, &st);
    };
    reset_form(st, v, token, Some(f)).await
}

/// A form posted straight to the link's URL (clients that keep no cookie).
pub async fn reset_with_token(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    reset_form(st, v, token, Some(f)).await
}
