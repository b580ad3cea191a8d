//! Sign in, sign out and the account page.

use super::*;

pub async fn login_page(State(st): State<AppState>, v: Visitor) -> Response {
    if v.session.is_some() {
        return v.redirect("/account");
    }
    login_form(v, &st, false, String::new())
}

pub(super) fn login_form(v: Visitor, st: &AppState, refused: bool, username: String) -> Response {
    let page = LoginPage {
        p: v.page(st, None),
        title: v.tr.t("login_title").to_string(),
        errs: Errors::default(),
        refused,
        username_label: username_label(st),
        username,
    };
    v.render(StatusCode::OK, page)
}

/// The sign-in form with field problems (a control character, too long).
pub(super) fn login_form_with(v: Visitor, st: &AppState, errs: Errors, typed: &str) -> Response {
    // A username with a problem is typed again; one that was fine is kept.
    let username = if errs.has("username") {
        String::new()
    } else {
        typed.to_string()
    };
    let page = LoginPage {
        p: v.page(st, None),
        title: v.tr.t("login_title").to_string(),
        errs,
        refused: false,
        username_label: username_label(st),
        username,
    };
    v.render(StatusCode::UNPROCESSABLE_ENTITY, page)
}

pub async fn login(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    let problems = field_problems(&[
        ("username", &f.username, FIELD_MAX),
        ("password", f.password.expose_secret(), SECRET_MAX),
    ]);
    if !problems.is_empty() {
        let errs = Errors::from_codes(v.tr, &problems);
        return Ok(login_form_with(v, &st, errs, &f.username));
    }
    let device = v.cookie(DEVICE);
    let outcome = st
        .recovery_in(v.lang)
        .login(LoginAttempt {
            typed: &f.username,
            password: &f.password,
            source: &Source::Ip(v.ip),
            device: device.as_deref(),
        })
        .await?;
    Ok(match outcome {
        LoginOutcome::Success {
            account_id,
            must_change,
            device,
        } => {
            v.sign_in(&st, account_id, !f.remember.is_empty(), must_change)
                .await?;
            v.set_device(device, st.recovery().device_lifetime());
            v.redirect(if must_change {
                "/login/change"
            } else {
                "/account"
            })
        }
        LoginOutcome::Refused => login_form(v, &st, true, f.username),
    })
}

pub async fn logout(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Page {
    let _ = form_or_answer!(v, st, form);
    v.sign_out(&st).await?;
    Ok(v.redirect("/login"))
}

/// The signed-in account, or a redirect to sign in.
pub(super) async fn account_of(
    st: &AppState,
    v: &Visitor,
) -> Result<
    Option<(
        String,
        crate::store::contractors::Contractor,
        crate::store::accounts::Account,
    )>,
    crate::recovery::RecoveryError,
> {
    match &v.session {
        Some(s) => {
            st.recovery_in(v.lang)
                .username_for_account(s.account_id)
                .await
        }
        None => Ok(None),
    }
}

pub async fn account(
    State(st): State<AppState>,
    v: Visitor,
    query: axum::extract::Query<ChangedQuery>,
) -> Page {
    let Some((username, c, a)) = account_of(&st, &v).await? else {
        return Ok(v.redirect("/login"));
    };
    if a.must_change() {
        return Ok(v.redirect("/login/change"));
    }
    let none = v.tr.t("none_on_record").to_string();
    let page = AccountPage {
        p: v.page(&st, Some(username)),
        title: v.tr.t("account_title").to_string(),
        changed: query.changed.is_some(),
        business: c.fields.business_name.clone(),
        contact: c.fields.contact_name.clone(),
        email: c.fields.email.as_deref().map_or(none.clone(), mask_address),
        phone: c.fields.phone.as_deref().map_or(none, mask_address),
    };
    Ok(v.render(StatusCode::OK, page))
}
