//! "Require Login Change": only the sign-in that used the temporary password may make it.

use super::*;

pub async fn change_page(State(st): State<AppState>, v: Visitor) -> Response {
    change_form(st, v, None).await
}

pub(super) async fn change_form(
    st: AppState,
    mut v: Visitor,
    submitted: Option<NewPasswordForm>,
) -> Response {
    let (username, c, a) = match account_of(&st, &v).await {
        Ok(Some(found)) => found,
        Ok(None) => return v.redirect("/login"),
        Err(e) => return server_error(v, &st, &e),
    };
    if !a.must_change() {
        return v.redirect("/account");
    }
    let Some(session) = v.session.clone() else {
        return v.redirect("/login");
    };
    // Only the sign-in that used the temporary password may choose the new one; an older
    // session (another browser, "remember me") is signed out instead.
    match st
        .recovery_in(v.lang)
        .may_change_password(&session.id_hash)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            if let Err(e) = v.sign_out(&st).await {
                return server_error(v, &st, &e);
            }
            return v.redirect("/login");
        }
        Err(e) => return server_error(v, &st, &e),
    }
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) if !f.problems().is_empty() => {
            (Errors::from_codes(v.tr, &f.problems()), String::new())
        }
        Some(f) => match st
            .recovery_in(v.lang)
            .change_forced(&session.id_hash, &f.password_form())
            .await
        {
            Ok(ChangeOutcome::Done { account_id }) => {
                // Every session ended with the change; this browser gets a fresh one.
                v.session = None;
                if let Err(e) = v.sign_in(&st, account_id, false, false).await {
                    return server_error(v, &st, &e);
                }
                return v.redirect("/account?changed=1");
            }
            Ok(ChangeOutcome::Fields(errors)) => (Errors::from_codes(v.tr, &errors), f.question),
            Ok(ChangeOutcome::NotThisSession) => return v.redirect("/login"),
            Err(e) => return server_error(v, &st, &e),
        },
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ChangePage {
        p: v.page(&st, Some(username)),
        title: v.tr.t("change_title").to_string(),
        errs,
        number: c.fields.contractor_number.clone(),
        question,
    };
    v.render(status, page)
}

pub async fn change(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Response {
    let f = form_or_answer!(v, st, form);
    change_form(st, v, Some(f)).await
}
