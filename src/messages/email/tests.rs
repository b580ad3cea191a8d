//! The emails' words, links and escaping, in both languages.

use super::*;

const LINK: &str = "https://help.westminster.example.gov/reset/0123456789abcdef?x=1&y=2";
const NOT_ME: &str = "https://help.westminster.example.gov/not-me/fedcba9876543210";
const BUSINESS: &str = "<Roof & Co>";

fn reset(lang: Lang, name: &str) -> ComposedEmail {
    reset_link_email(
        lang,
        &ResetLinkFields {
            name,
            city: "Westminster",
            username: "C-1001",
            link: LINK,
            minutes: 45,
        },
    )
    .unwrap()
}

fn setup(lang: Lang, name: &str) -> ComposedEmail {
    account_setup_email(
        lang,
        &AccountSetupFields {
            name,
            city: "Westminster",
            username: "LIC-778899",
            link: LINK,
            minutes: 30,
        },
    )
    .unwrap()
}

fn changed(lang: Lang, name: &str, how: HowChanged) -> ComposedEmail {
    password_changed_email(
        lang,
        &PasswordChangedFields {
            name,
            city: "Westminster",
            username: "C-1001",
            how,
            not_me_link: NOT_ME,
        },
    )
    .unwrap()
}

/// The HTML carries a link's `&` as `&#38;` (or `&amp;`), which a browser reads back as `&`.
fn html_link(link: &str) -> [String; 2] {
    [link.replace('&', "&#38;"), link.replace('&', "&amp;")]
}

fn has_html_link(html: &str, link: &str) -> bool {
    html_link(link)
        .iter()
        .any(|l| html.contains(&format!("href=\"{l}\"")))
}

#[test]
fn reset_link_in_english() {
    let m = reset(Lang::En, "Pat Alvarez");
    assert_eq!(m.template, "reset_link");
    assert_eq!(
        m.subject,
        "Westminster: reset your contractor portal password"
    );
    assert!(m.text.starts_with("Hello Pat Alvarez,\n"), "{}", m.text);
    assert!(m.text.contains("account (C-1001)"), "{}", m.text);
    assert!(m.text.contains("within 45 minutes"), "{}", m.text);
    assert!(m.text.contains(&format!("\n{LINK}\n")), "{}", m.text);
    assert!(m.text.contains("The link works once"), "{}", m.text);
    assert!(m.html.contains("<html lang=\"en\">"), "{}", m.html);
    assert!(has_html_link(&m.html, LINK), "{}", m.html);
    assert!(m.html.contains("<strong>C-1001</strong>"), "{}", m.html);
}

#[test]
fn reset_link_in_spanish() {
    let m = reset(Lang::Es, "Pat Alvarez");
    assert_eq!(m.template, "reset_link");
    assert_eq!(
        m.subject,
        "Westminster: elija una contraseña nueva para el portal de contratistas"
    );
    assert!(m.text.starts_with("Hola, Pat Alvarez:\n"), "{}", m.text);
    assert!(m.text.contains("(usuario C-1001)"), "{}", m.text);
    assert!(m.text.contains("45 minutos"), "{}", m.text);
    assert!(m.text.contains(&format!("\n{LINK}\n")), "{}", m.text);
    assert!(m.text.contains("una sola vez"), "{}", m.text);
    assert!(m.html.contains("<html lang=\"es\">"), "{}", m.html);
    assert!(has_html_link(&m.html, LINK), "{}", m.html);
    assert!(m.html.contains("Elegir una contraseña nueva"), "{}", m.html);
}

#[test]
fn account_setup_in_both_languages() {
    let en = setup(Lang::En, "Pat Alvarez");
    assert_eq!(en.template, "account_setup");
    assert_eq!(
        en.subject,
        "Westminster: set up your contractor portal account"
    );
    assert!(
        en.text
            .contains("set up your Westminster contractor portal account (username LIC-778899)"),
        "{}",
        en.text
    );
    assert!(en.text.contains("within 30 minutes"), "{}", en.text);
    assert!(en.text.contains(&format!("\n{LINK}\n")), "{}", en.text);
    assert!(
        en.text
            .contains("If it was not you, ignore this email: nothing changes."),
        "{}",
        en.text
    );
    assert!(has_html_link(&en.html, LINK), "{}", en.html);

    let es = setup(Lang::Es, "Pat Alvarez");
    assert_eq!(es.template, "account_setup");
    assert_eq!(
        es.subject,
        "Westminster: cree su cuenta del portal de contratistas"
    );
    assert!(es.text.contains("(usuario LIC-778899)"), "{}", es.text);
    assert!(es.text.contains("30 minutos"), "{}", es.text);
    assert!(es.text.contains(&format!("\n{LINK}\n")), "{}", es.text);
    assert!(
        es.text
            .contains("Si no fue usted, ignore este correo: no cambia nada."),
        "{}",
        es.text
    );
    assert!(has_html_link(&es.html, LINK), "{}", es.html);
}

#[test]
fn password_changed_words_how_in_each_language() {
    for (how, en_phrase, es_phrase) in [
        (
            HowChanged::FirstSignIn,
            "at your first sign-in",
            "en su primer inicio de sesión",
        ),
        (
            HowChanged::ResetLink,
            "with a reset link",
            "con un enlace de restablecimiento",
        ),
        (
            HowChanged::AccountSetup,
            "when the account was set up",
            "al crear la cuenta",
        ),
    ] {
        let en = changed(Lang::En, "Pat Alvarez", how);
        assert_eq!(en.template, "password_changed");
        assert_eq!(
            en.subject,
            "Westminster: your contractor portal password was changed"
        );
        assert!(
            en.text
                .contains(&format!("(C-1001) was changed {en_phrase}.\n")),
            "{}",
            en.text
        );
        assert!(
            en.html.contains(&format!("was changed {en_phrase}.</p>")),
            "{}",
            en.html
        );
        assert!(en.text.contains(&format!("\n{NOT_ME}\n")), "{}", en.text);
        assert!(has_html_link(&en.html, NOT_ME), "{}", en.html);

        let es = changed(Lang::Es, "Pat Alvarez", how);
        assert_eq!(
            es.subject,
            "Westminster: se cambió la contraseña de su cuenta del portal de contratistas"
        );
        assert!(
            es.text
                .contains(&format!("(usuario C-1001) se cambió {es_phrase}.\n")),
            "{}",
            es.text
        );
        assert!(
            es.html.contains(&format!("se cambió {es_phrase}.</p>")),
            "{}",
            es.html
        );
        assert!(es.text.contains(&format!("\n{NOT_ME}\n")), "{}", es.text);
        assert!(has_html_link(&es.html, NOT_ME), "{}", es.html);
    }
}

#[test]
fn html_is_escaped_and_text_is_not() {
    for lang in Lang::ALL {
        for m in [
            reset(lang, BUSINESS),
            setup(lang, BUSINESS),
            changed(lang, BUSINESS, HowChanged::ResetLink),
        ] {
            let what = format!("{} in {}", m.template, lang.code());
            assert!(m.text.contains(BUSINESS), "{what}: {}", m.text);
            assert!(!m.html.contains(BUSINESS), "{what}: {}", m.html);
            assert!(
                m.html.contains("&#60;Roof &#38; Co&#62;")
                    || m.html.contains("&lt;Roof &amp; Co&gt;"),
                "{what}: {}",
                m.html
            );
        }
    }
}

#[test]
fn subjects_stay_on_one_line_whatever_the_city() {
    let m = reset_link_email(
        Lang::En,
        &ResetLinkFields {
            name: "Pat",
            city: "West\r\nBcc: someone@example.com",
            username: "C-1",
            link: LINK,
            minutes: 5,
        },
    )
    .unwrap();
    assert!(
        !m.subject.contains('\n') && !m.subject.contains('\r'),
        "{:?}",
        m.subject
    );
}

#[test]
fn how_changed_codes_are_distinct() {
    let codes: std::collections::BTreeSet<_> = HowChanged::ALL.iter().map(|h| h.code()).collect();
    assert_eq!(codes.len(), HowChanged::ALL.len());
}

#[test]
fn answers_to_emails_in_both_languages_tell_nothing_and_point_to_forgot() {
    let forgot_link = "https://help.westminster.example.gov/forgot";
    for (lang, matches, ack) in [
        (
            Lang::En,
            "If the number you sent and this email address match our records",
            "RESET and your contractor or license number",
        ),
        (
            Lang::Es,
            "Si el número que envió y esta dirección de correo coinciden",
            "CLAVE y su número de contratista",
        ),
    ] {
        let m = reset_request_received_email(
            lang,
            &ResetRequestReceivedFields {
                city: "Westminster",
                minutes: 60,
                forgot_link,
            },
        )
        .unwrap();
        assert_eq!(m.template, "reset_request_received");
        assert!(m.text.contains(matches), "{}", m.text);
        assert!(m.text.contains(&format!("\n{forgot_link}\n")), "{}", m.text);
        assert!(has_html_link(&m.html, forgot_link), "{}", m.html);
        assert_eq!(m.in_reply_to, None);

        let a = email_received_email(
            lang,
            &EmailReceivedFields {
                city: "Westminster",
                forgot_link,
                office_hours: Some("Mon–Fri 8–5"),
            },
        )
        .unwrap();
        assert_eq!(a.template, "email_received");
        assert!(a.text.contains(ack), "{}", a.text);
        assert!(a.text.contains("(Mon–Fri 8–5)"), "{}", a.text);
        assert!(has_html_link(&a.html, forgot_link), "{}", a.html);
    }
}

fn undelivered(lang: Lang, staff_phone: Option<&str>) -> ComposedEmail {
    sms_undelivered_email(
        lang,
        &SmsUndeliveredFields {
            name: BUSINESS,
            city: "Westminster",
            username: "C-1001",
            phone_ending: "2075",
            forgot_link: "https://help.westminster.example.gov/forgot",
            staff_phone,
            office_hours: staff_phone.map(|_| "Mon–Fri 8–5"),
        },
    )
    .unwrap()
}

#[test]
fn sms_undelivered_points_to_forgot_password_and_staff_in_both_languages() {
    let m = undelivered(Lang::En, Some("(303) 555-0199"));
    assert_eq!(m.template, "sms_undelivered");
    assert_eq!(
        m.subject,
        "Westminster: the text from the help line did not arrive"
    );
    assert!(m.text.contains("phone ending in 2075"), "{}", m.text);
    assert!(m.text.contains("could not be delivered"), "{}", m.text);
    assert!(
        m.text
            .contains("\nhttps://help.westminster.example.gov/forgot\n"),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("Or call the Building Division at (303) 555-0199 (Mon–Fri 8–5)."),
        "{}",
        m.text
    );
    assert!(m.text.contains("Hello <Roof & Co>,"), "text is not escaped");
    assert!(
        m.html.contains("Hello &#60;Roof &#38; Co&#62;,")
            || m.html.contains("Hello &lt;Roof &amp; Co&gt;,"),
        "{}",
        m.html
    );
    assert!(has_html_link(
        &m.html,
        "https://help.westminster.example.gov/forgot"
    ));
    assert!(m.html.contains("(303) 555-0199"), "{}", m.html);
    assert!(
        !m.text.contains("\n\n\n"),
        "no empty lines pile up: {:?}",
        m.text
    );

    let es = undelivered(Lang::Es, Some("(303) 555-0199"));
    assert!(es.subject.contains("no llegó"), "{}", es.subject);
    assert!(es.text.contains("termina en 2075"), "{}", es.text);
    assert!(es.text.contains("¿Olvidó su contraseña?"), "{}", es.text);
    assert!(
        es.text
            .contains("O llame a la División de Construcción al (303) 555-0199")
    );
    assert!(es.html.contains("<html lang=\"es\">"));

    for lang in Lang::ALL {
        let none = undelivered(lang, None);
        assert!(!none.text.contains("555-0199") && !none.html.contains("555-0199"));
        assert!(!none.text.contains("\n\n\n"), "{:?}", none.text);
        assert!(none.text.contains("/forgot"));
    }
}
