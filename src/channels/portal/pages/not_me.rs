//! "This wasn't me": confirm, then freeze.

use super::*;

pub async fn not_me_page(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
) -> Page {
    Ok(if st.recovery_in(v.lang).not_me_valid(&token).await? {
        let page = NotMePage {
            p: v.page(&st, None),
            title: v.tr.t("not_me_title").to_string(),
            token,
        };
        v.render(StatusCode::OK, page)
    } else {
        invalid_link(v, &st)
    })
}

#[derive(Template)]
#[template(
    source = r#"{% extends "portal/base.html" %}{% block content %}<p>{{ p.tr.t("not_me_intro") }}</p>
<form method="post" action="/not-me/{{ token }}"><input type="hidden" name="csrf" value="{{ p.csrf }}"><button type="submit">{{ p.tr.t("not_me_button") }}</button></form>{% endblock %}"#,
    ext = "html"
)]
pub(super) struct NotMePage {
    p: PageCtx,
    title: String,
    token: String,
}

pub async fn not_me(
    State(st): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Page {
    let _ = form_or_answer!(v, st, form);
    Ok(if st.recovery_in(v.lang).not_me(&token).await? {
        done(v, "frozen", "")
    } else {
        invalid_link(v, &st)
    })
}
