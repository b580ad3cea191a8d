//! "Forgot password": the same answer after the same time, whatever was typed.

use super::*;

pub async fn forgot_page(
    State(st): State<AppState>,
    v: Visitor,
    query: axum::extract::Query<SentQuery>,
) -> Response {
    let page = ForgotPage {
        p: v.page(&st, None),
        title: v.tr.t("forgot_title").to_string(),
        errs: Errors::default(),
        sent: query.sent.is_some(),
        username_label: username_label(&st),
    };
    v.render(StatusCode::OK, page)
}

/// The same redirect, after the same time, whatever was typed; the page it leads to can be
/// refreshed without sending anything again.
pub async fn forgot(
    State(st): State<AppState>,
    v: Visitor,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    let problems = field_problems(&[("username", &f.username, FIELD_MAX)]);
    if !problems.is_empty() {
        let page = ForgotPage {
            p: v.page(&st, None),
            title: v.tr.t("forgot_title").to_string(),
            errs: Errors::from_codes(v.tr, &problems),
            sent: false,
            username_label: username_label(&st),
        };
        return Ok(v.render(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    st.recovery_in(v.lang)
        .request_reset(&f.username, &Source::Ip(v.ip))
        .await?;
    Ok(v.redirect("/forgot?sent=1"))
}
