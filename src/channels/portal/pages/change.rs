//! "Require Login Change": only the sign-in that used the temporary password may make it.

use super::*;

pub async fn change_page(State(st): State<AppState>, v: Visitor) -> Page {
    change_form(st, v, None).await
}

pub(super) async fn change_form(
    st: AppState,
    mut v: Visitor,
    submitted: Option<NewPasswordForm>,
) -> Page {
    let Some((username, c, a)) = account_of(&st, &v).await? else {
        return Ok(v.redirect("/login"));
    };
    if !a.must_change() {
        return Ok(v.redirect("/account"));
    }
    let Some(session) = v.session.clone() else {
        return Ok(v.redirect("/login"));
    };
    // Only the sign-in that used the temporary password may choose the new one; an older
    // session (another browser, "remember me") is signed out instead.
    if !st
        .recovery_in(v.lang)
        .may_change_password(&session.id_hash)
        .await?
    {
        v.sign_out(&st).await?;
        return Ok(v.redirect("/login"));
    }
    let (errs, question) = match submitted {
        None => (Errors::default(), String::new()),
        Some(f) if !f.problems().is_empty() => {
            (Errors::from_codes(v.tr, &f.problems()), String::new())
        }
        Some(f) => match st
            .recovery_in(v.lang)
            .change_forced(&session.id_hash, &f.password_form())
            .await?
        {
            ChangeOutcome::Done { account_id } => {
                // Every session ended with the change; this browser gets a fresh one.
                v.session = None;
                v.sign_in(&st, account_id, false, false).await?;
                return Ok(v.redirect("/account?changed=1"));
            }
            ChangeOutcome::Fields(errors) => (Errors::from_codes(v.tr, &errors), f.question),
            ChangeOutcome::NotThisSession => return Ok(v.redirect("/login")),
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
    Ok(v.render(status, page))
}

pub async fn change(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    change_form(st, v, Some(f)).await
}
