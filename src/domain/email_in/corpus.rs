//! The real-MIME sample corpus (`tests/api/fixtures/email/`), read: for each sample what
//! Helpline takes from it — the text without quote or signature, the subject, the language,
//! the meaning. The samples are written as the clients produce them (Gmail, Outlook, Apple
//! Mail, forwards, HTML only, legacy charsets) and as broken senders do (truncated multipart,
//! bad base64, no Content-Type, raw 8-bit headers).

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/fixtures/email/",
            $name
        ))
    };
}

/// What a sample reads as: the text must start with `starts` and hold none of `absent`.
#[track_caller]
fn reads(raw: &[u8], subject: &str, lang: Lang, starts: &str, absent: &[&str]) -> InboundEmail {
    let m = read(raw).expect("readable");
    assert_eq!(m.subject, subject);
    assert_eq!(m.lang, lang, "{}", m.text);
    assert!(m.text.starts_with(starts), "{:?}", m.text);
    for a in absent {
        assert!(!m.text.contains(a), "{a:?} in {:?}", m.text);
    }
    m
}

#[test]
fn gmail_with_the_attribution_wrapped_on_two_lines_and_a_signature() {
    let m = reads(
        fixture!("gmail_reply_wrapped.eml"),
        "Re: Westminster: your contractor portal password was changed",
        Lang::En,
        "Yes that was me, I changed it from the job site. Thanks for checking.",
        &[
            "On Thu",
            "wrote:",
            "help@westminster",
            "Pat Alvarez |",
            "555-0142",
            "Hello Pat",
        ],
    );
    assert_eq!(m.meaning, Meaning::Other);
    assert_eq!(m.authentication, Authentication::Pass);
    assert_eq!(
        m.text,
        "Yes that was me, I changed it from the job site. Thanks for checking."
    );
}

#[test]
fn outlook_in_windows_1252_with_its_divider_and_from_block() {
    let m = reads(
        fixture!("outlook_reply_1252.eml"),
        "RE: Westminster: a temporary password was sent to your phone",
        Lang::En,
        "I don\u{2019}t use the phone ending 0142 anymore \u{2013} please send the link",
        &["____", "From:", "Sent:", "Hello Sam", "MsoNormal"],
    );
    assert_eq!(m.meaning, Meaning::Other);
    assert!(m.text.ends_with("Mile High Electric"), "{:?}", m.text);
    assert_eq!(
        m.from,
        Some(EmailAddress::parse("sam@milehigh.example").unwrap())
    );
}

#[test]
fn apple_mail_quoted_printable_with_on_at_wrote() {
    let m = reads(
        fixture!("apple_mail_reply.eml"),
        "Re: Westminster: reset your contractor portal password",
        Lang::En,
        "The link says it expired before I could open it \u{2014} I was on a roof all morning.",
        &["wrote:", "Hello Rosa", "Someone asked"],
    );
    assert!(m.text.ends_with("Rosa"), "{:?}", m.text);
    assert_eq!(m.meaning, Meaning::Other);
}

#[test]
fn spanish_replies_from_gmail_and_outlook() {
    let m = reads(
        fixture!("gmail_reply_es.eml"),
        "Re: Westminster: elija una contraseña nueva para el portal de contratistas",
        Lang::Es,
        "Hola, el enlace no funciona en mi teléfono. ¿Me pueden llamar?\nGracias",
        &["escribió", "Alguien", "help@"],
    );
    assert_eq!(m.meaning, Meaning::Other);

    let m = reads(
        fixture!("outlook_reply_es.eml"),
        "RE: Westminster: elija una contraseña nueva",
        Lang::Es,
        "Buenas tardes, ya no tengo ese correo.",
        &["De:", "Enviado:", "____", "Hola, José"],
    );
    assert!(m.text.ends_with("José Ramírez"), "{:?}", m.text);
}

#[test]
fn a_forward_is_read_as_the_note_above_it() {
    let m = reads(
        fixture!("forwarded.eml"),
        "Fwd: Westminster: your contractor portal password was changed",
        Lang::En,
        "My office manager got this and nobody here changed the password.",
        &["Forwarded message", "From:", "Hello Pat"],
    );
    assert!(m.text.ends_with("email real?"), "{:?}", m.text);
    assert_eq!(m.meaning, Meaning::Other);
}

#[test]
fn html_only_reply_is_text_without_its_quote() {
    let m = reads(
        fixture!("html_only_reply.eml"),
        "Re: Westminster: your contractor portal password was changed",
        Lang::En,
        "Please call me back about my account, I am locked out.",
        &["<div>", "wrote:", "Hello Sam", "changed."],
    );
    assert_eq!(m.meaning, Meaning::Other);
}

#[test]
fn japanese_in_iso_2022_jp_and_shift_jis_is_decoded() {
    let m = reads(
        fixture!("iso_2022_jp.eml"),
        "パスワードについて",
        Lang::En,
        "お世話になっております。\nポータルにログインできません。",
        &["\u{fffd}", "\u{1b}"],
    );
    assert!(m.text.contains("田中"), "{:?}", m.text);
    assert_eq!(m.meaning, Meaning::Other);

    let m = reads(
        fixture!("shift_jis.eml"),
        "ログインできません",
        Lang::En,
        "パスワードを忘れました。",
        &["\u{fffd}"],
    );
    assert_eq!(m.meaning, Meaning::Other);
}

#[test]
fn malformed_mime_is_read_as_far_as_it_goes() {
    let m = reads(
        fixture!("no_closing_boundary.eml"),
        "locked out",
        Lang::En,
        "I am locked out of the portal since this morning.",
        &["<p>", "--b1_"],
    );
    assert_eq!(m.meaning, Meaning::Other);

    // Broken base64: whatever decodes, never a panic; the sender and subject still stand.
    let m = read(fixture!("broken_base64.eml")).expect("readable");
    assert_eq!(m.subject, "help please");
    assert_eq!(
        m.from,
        Some(EmailAddress::parse("sam@milehigh.example").unwrap())
    );
    assert_eq!(m.meaning, Meaning::Other);

    let m = reads(
        fixture!("no_content_type.eml"),
        "password",
        Lang::En,
        "Please reset my password, I cannot find the email.",
        &[],
    );
    assert_eq!(m.meaning, Meaning::Other, "no number: a person asking");

    // Raw Latin-1 bytes in headers: the address is read, the text is still Spanish.
    let m = read(fixture!("header_8bit.eml")).expect("readable");
    assert_eq!(
        m.from,
        Some(EmailAddress::parse("jose@ramirez-construccion.example").unwrap())
    );
    assert!(m.subject.starts_with("Contrase"), "{:?}", m.subject);
    assert!(m.text.contains("olvidé mi contraseña"), "{:?}", m.text);
    assert_eq!(m.lang, Lang::Es);
}

#[test]
fn quoted_text_rules_one_by_one() {
    for (body, want) in [
        ("Hi\n\nOn Mon, X <x@y.example> wrote:\n> old", "Hi"),
        (
            "Hi\nOn Mon, Dec 1, 2026 at 9:00 AM Somebody Long <\nx@y.example> wrote:\n> old",
            "Hi",
        ),
        (
            "Hola\nEl lun, 1 dic 2026 a las 9:00, X (<\nx@y.example>) escribió:\n> viejo",
            "Hola",
        ),
        ("Note\n\nBegin forwarded message:\n\nFrom: X", "Note"),
        (
            "Nota\n---------- Mensaje reenviado ---------\nDe: X",
            "Nota",
        ),
        ("Thanks\n\nSent from my iPhone", "Thanks"),
        ("Thanks\n-- \nPat", "Thanks"),
        (
            "From: the field office\nwe are locked out",
            "From: the field office\nwe are locked out",
        ),
        (
            "On Monday I tried twice\nand it failed",
            "On Monday I tried twice\nand it failed",
        ),
        ("Hi\nOn Mon, X <x@y.example> wrote:Hello X", "Hi"),
        ("On Monday I wrote: help", "On Monday I wrote: help"),
    ] {
        assert_eq!(strip_quoted(body), want, "{body:?}");
    }
}
