//! "Setup an Account", with its draft kept server-side across a redirect.

use super::*;

/// The fields kept (never the passwords or answers) when a registration comes back with
/// errors, so the page after the redirect, in either language, shows them again.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct RegisterDraft {
    fields: RegisterFields,
    /// (field, error code)
    errors: Vec<(String, String)>,
}

/// The registration form's fields, as names the page knows.
pub(super) const REGISTER_FIELDS: [&str; 12] = [
    "license_number",
    "business_name",
    "contact_name",
    "phone",
    "email",
    "workers_comp_policy",
    "workers_comp_expires",
    "password",
    "confirm",
    "question",
    "answer",
    "answer_again",
];

pub async fn register_page(State(st): State<AppState>, v: Visitor) -> Page {
    let draft = match v.cookie(DRAFT) {
        Some(id) => load_draft(&st, &id).await?,
        None => None,
    }
    .unwrap_or_default();
    let errors: Vec<FieldError> = draft
        .errors
        .iter()
        .filter_map(|(field, code)| {
            let field = REGISTER_FIELDS.iter().find(|f| **f == field.as_str())?;
            Some(FieldError::new(field, code_of(code)))
        })
        .collect();
    let page = RegisterPage {
        p: v.page(&st, None),
        title: v.tr.t("register_title").to_string(),
        errs: Errors::from_codes(v.tr, &errors),
        f: draft.fields,
    };
    Ok(v.render(StatusCode::OK, page))
}

/// The static code matching a stored one (codes come from a closed set).
pub(super) fn code_of(code: &str) -> &'static str {
    crate::messages::ERROR_CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("required")
}

/// The draft behind the cookie's id, if it is live. A database that cannot be reached is an
/// error (a 503 page), not an empty form.
pub(super) async fn load_draft(
    st: &AppState,
    id: &str,
) -> Result<Option<RegisterDraft>, sqlx::Error> {
    if id.len() != 64 {
        return Ok(None);
    }
    let Some(row) = sessions::get(st.store.pool(), &token_digest(id)).await? else {
        return Ok(None);
    };
    if row.expires_at <= st.clock.now_ms() || row.account_id.is_some() {
        return Ok(None);
    }
    Ok(serde_json::from_str(&row.data).ok())
}

/// Keeps the draft server-side for a few minutes and sends the browser back to the form.
pub(super) async fn redirect_with_draft(
    st: &AppState,
    mut v: Visitor,
    draft: &RegisterDraft,
) -> Page {
    let id = random_token(32);
    let now = st.clock.now_ms();
    let data = serde_json::to_string(draft).unwrap_or_default();
    sessions::create(
        st.store.pool(),
        &sessions::NewSession {
            id_hash: &token_digest(&id),
            data: &data,
            expires_at: now + duration_ms(HELP_STEP),
            ..Default::default()
        },
        now,
    )
    .await?;
    v.set(DRAFT, id, Some(HELP_STEP));
    Ok(v.redirect("/register"))
}

pub async fn register(
    State(st): State<AppState>,
    mut v: Visitor,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Page {
    let f = form_or_answer!(v, st, form);
    v.unset(DRAFT);
    let mut problems = field_problems(&[
        ("license_number", &f.license_number, FIELD_MAX),
        ("business_name", &f.business_name, FIELD_MAX),
        ("contact_name", &f.contact_name, FIELD_MAX),
        ("phone", &f.phone, FIELD_MAX),
        ("email", &f.email, FIELD_MAX),
        ("workers_comp_policy", &f.workers_comp_policy, FIELD_MAX),
        ("workers_comp_expires", &f.workers_comp_expires, FIELD_MAX),
        ("password", f.password.expose_secret(), SECRET_MAX),
        ("confirm", f.confirm.expose_secret(), SECRET_MAX),
        ("question", &f.question, FIELD_MAX),
        ("answer", f.answer.expose_secret(), SECRET_MAX),
        ("answer_again", f.answer_again.expose_secret(), SECRET_MAX),
    ]);
    let registration = RegistrationForm {
        license_number: f.license_number.clone(),
        business_name: f.business_name.clone(),
        contact_name: f.contact_name.clone(),
        phone: f.phone.clone(),
        email: f.email.clone(),
        workers_comp_policy: f.workers_comp_policy.clone(),
        workers_comp_expires: f.workers_comp_expires.clone(),
        password: password_form(
            &f.password,
            &f.confirm,
            &f.question,
            &f.answer,
            &f.answer_again,
        ),
    };
    let outcome = if problems.is_empty() {
        st.recovery_in(v.lang)
            .register(&registration, &Source::Ip(v.ip))
            .await?
    } else {
        Err(std::mem::take(&mut problems))
    };
    match outcome {
        Ok(RegistrationOutcome::SetupSent { to, by }) => Ok(match by {
            Destination::Email => done(v, "setup_email", &to),
            Destination::Sms => done(v, "setup_sms", &to),
        }),
        Ok(RegistrationOutcome::SetupTooSoon) => Ok(done(v, "setup_soon", "")),
        Ok(RegistrationOutcome::Pending { ticket }) => Ok(done(v, "pending", &ticket.to_string())),
        Err(errors) => {
            // Control characters are not kept: the contractor types those fields again.
            let keep = |name: &str, value: String| {
                if errors
                    .iter()
                    .any(|e| e.field == name && e.code == "control_chars")
                {
                    String::new()
                } else {
                    value
                }
            };
            let draft = RegisterDraft {
                fields: RegisterFields {
                    license_number: keep("license_number", f.license_number),
                    business_name: keep("business_name", f.business_name),
                    contact_name: keep("contact_name", f.contact_name),
                    phone: keep("phone", f.phone),
                    email: keep("email", f.email),
                    workers_comp_policy: keep("workers_comp_policy", f.workers_comp_policy),
                    workers_comp_expires: keep("workers_comp_expires", f.workers_comp_expires),
                    question: keep("question", f.question),
                },
                errors: errors
                    .iter()
                    .map(|e| (e.field.to_string(), e.code.to_string()))
                    .collect(),
            };
            redirect_with_draft(&st, v, &draft).await
        }
    }
}
