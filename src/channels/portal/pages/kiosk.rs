//! The kiosk ("I can't log in") and the result page every form ends on.

use super::*;

pub async fn help_page(State(st): State<AppState>, v: Visitor) -> Response {
    help_form(v, &st, false)
}

pub(super) fn help_form(v: Visitor, st: &AppState, refused: bool) -> Response {
    let page = HelpPage {
        p: v.page(st, None),
        title: v.tr.t("help_title").to_string(),
        errs: Errors::default(),
        refused,
    };
    v.render(StatusCode::OK, page)
}

/// Step one: contractor or license number and the phone on record. A match is kept on the
/// server and the browser is sent on to the choice (post/redirect/get, so switching language
/// or refreshing keeps the contractor's place).
pub async fn help(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<HelpForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    let problems = field_problems(&[
        ("number", &f.number, FIELD_MAX),
        ("phone", &f.phone, FIELD_MAX),
    ]);
    if !problems.is_empty() {
        let page = HelpPage {
            p: v.page(&st, None),
            title: v.tr.t("help_title").to_string(),
            errs: Errors::from_codes(v.tr, &problems),
            refused: false,
        };
        return Ok(v.render(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    let recovery = st.recovery_in(v.lang);
    let Some(verified) = recovery
        .verify_identity(&f.number, &f.phone, &Source::Ip(v.ip))
        .await?
    else {
        return Ok(help_form(v, &st, true));
    };
    let id = recovery.hold_verification(&verified).await?;
    v.set(HELP, id, Some(HELP_STEP));
    Ok(v.redirect("/help/choose"))
}

pub(super) fn help_expired(v: Visitor, st: &AppState) -> Response {
    let text = v.tr.t("help_expired").to_string();
    message(
        v,
        st,
        StatusCode::GONE,
        "help_title",
        vec![text],
        vec![("/help", "help_link")],
    )
}

/// Step two's page: where on record to send, from the verification kept on the server.
pub async fn help_choose(State(st): State<AppState>, v: Visitor) -> Page {
    let Some(id) = v.cookie(HELP) else {
        return Ok(help_expired(v, &st));
    };
    let Some(verified) = st.recovery_in(v.lang).verification(&id).await? else {
        return Ok(help_expired(v, &st));
    };
    let page = HelpChoosePage {
        p: v.page(&st, None),
        title: v.tr.t("help_title").to_string(),
        email: verified.email,
        email_undeliverable: verified.email_undeliverable,
        phone: verified.phone,
    };
    Ok(v.render(StatusCode::OK, page))
}

/// Step two: send to the chosen contact on record. The verification is used up by this one
/// send, even if the form is posted several times at once.
pub async fn help_send(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<HelpSendForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    let Some(id) = v.cookie(HELP) else {
        return Ok(help_expired(v, &st));
    };
    let destination = match f.destination.as_str() {
        "sms" => Destination::Sms,
        _ => Destination::Email,
    };
    let sent = st
        .recovery_in(v.lang)
        .send_verified(&id, destination, &Source::Ip(v.ip))
        .await?;
    v.unset(HELP);
    Ok(match sent {
        Some(SendOutcome::Sent { to }) => match destination {
            Destination::Email => done(v, "email", &to),
            Destination::Sms => done(v, "sms", &to),
        },
        Some(SendOutcome::TooSoon | SendOutcome::NoDestination) => done(v, "none", ""),
        None => help_expired(v, &st),
    })
}

/// Ends a form's journey with post/redirect/get: what happened is kept in a short-lived
/// cookie (a kind and a masked destination or a reference number, nothing secret), and the
/// result page can be refreshed or switched to another language without losing it.
pub(super) fn done(mut v: Visitor, kind: &str, detail: &str) -> Response {
    v.set(RESULT, format!("{kind}:{detail}"), Some(HELP_STEP));
    v.redirect("/done")
}

/// The result of the last form, from the cookie `done` set.
pub async fn result_page(State(st): State<AppState>, v: Visitor) -> Response {
    let result = v.cookie(RESULT).unwrap_or_default();
    let (kind, detail) = result.split_once(':').unwrap_or(("", ""));
    let detail = detail.to_string();
    let tr = v.tr;
    let back = vec![("/login", "back_to_sign_in")];
    let (title, paras) = match kind {
        "email" | "sms" => {
            let mut paras = vec![format!("{} {detail}.", tr.t("help_sent"))];
            if kind == "sms" {
                paras.push(tr.t("help_sent_next").to_string());
            }
            ("help_sent_title", paras)
        }
        "none" => {
            let text = tr.t("help_not_sent").to_string();
            return refusal(v, &st, StatusCode::OK, "help_title", vec![text], back);
        }
        "reset" => ("reset_done_title", vec![tr.t("reset_done").to_string()]),
        "frozen" => ("not_me_title", vec![tr.t("not_me_done").to_string()]),
        "setup_email" | "setup_sms" => (
            "register_setup_title",
            vec![
                format!("{} {detail}.", tr.t(&format!("register_{kind}"))),
                tr.t("register_setup_next").to_string(),
            ],
        ),
        "setup_soon" => (
            "register_setup_title",
            vec![tr.t("register_setup_too_soon").to_string()],
        ),
        "pending" if detail.bytes().all(|b| b.is_ascii_digit()) && !detail.is_empty() => (
            "register_pending_title",
            vec![format!("{} #{detail}.", tr.t("register_pending"))],
        ),
        _ => return help_expired(v, &st),
    };
    message(v, &st, StatusCode::OK, title, paras, back)
}
