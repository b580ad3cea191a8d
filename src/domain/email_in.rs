//! An email to the help line, read and understood: pure, no I/O. MIME (multipart,
//! quoted-printable, base64, encoded words, charsets) is `mail-parser`'s; this module decides
//! what the message means for Helpline:
//!
//! - a delivery status report (`multipart/report; report-type=delivery-status`, or a null
//!   return path with `X-Failed-Recipients`) is a [`Meaning::Bounce`], with the addresses that
//!   failed;
//! - anything a machine sent (`Auto-Submitted` other than `no`, `Precedence: bulk/junk/list`,
//!   `X-Autoreply`, `X-Autorespond`, `X-Auto-Response-Suppress`, a null return path `<>`) is
//!   [`Meaning::Automatic`] — never answered, so no two robots ever talk to each other;
//! - `RESET 1900862` or `CLAVE 1900862` in the subject or the first line of the text is a
//!   [`Meaning::Reset`] (CLAVE is Spanish, and so is the answer);
//! - a reply whose own text says "this wasn't me" is [`Meaning::NotMe`];
//! - anything else is [`Meaning::Other`]: a person wrote, staff will read it.
//!
//! Nothing read here reaches an outgoing header as it is: the sender becomes an
//! [`EmailAddress`] (lettre's address rules, no display name), the Message-ID a [`MessageId`]
//! of printable ASCII only, and subjects and text are only ever stored for staff.

use mail_parser::{MessageParser, MimeHeaders};

use super::email::EmailAddress;
use super::email_reply;
use super::language::Lang;

mod quoted;
pub use quoted::strip_quoted;

/// Longest Message-ID kept (RFC 5322 sets no limit; real ones are well under 100).
pub const MAX_MESSAGE_ID: usize = 250;
/// Most characters of a message's text kept for staff.
pub const MAX_TEXT: usize = 4000;
/// Most characters of a subject kept for staff.
pub const MAX_SUBJECT: usize = 200;

/// A Message-ID that may be stored and sent back in `In-Reply-To`: printable ASCII without
/// spaces, quotes or angle brackets, so it can never end a header or start another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// The id with or without its angle brackets; `None` for anything unsafe or empty.
    pub fn parse(raw: &str) -> Option<MessageId> {
        let t = raw.trim();
        let t = t.strip_prefix('<').unwrap_or(t);
        let t = t.strip_suffix('>').unwrap_or(t);
        let safe = |b: u8| (0x21..=0x7e).contains(&b) && !matches!(b, b'<' | b'>' | b'"' | b'\\');
        (!t.is_empty() && t.len() <= MAX_MESSAGE_ID && t.bytes().all(safe))
            .then(|| MessageId(t.to_string()))
    }

    /// Without angle brackets (the conversation key).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<id>`, as In-Reply-To and References carry it.
    pub fn bracketed(&self) -> String {
        format!("<{}>", self.0)
    }
}

/// What a message means for Helpline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// A delivery status report: never answered. `failed` are the recipients it reports as
    /// failed (those on record are tickets for staff to fix the contact).
    Bounce { failed: Vec<EmailAddress> },
    /// Sent by a machine (an out-of-office, a list, a robot): never answered. Says which sign.
    Automatic(&'static str),
    /// "RESET 1900862" / "CLAVE 1900862": a reset link, if the sender is the email on record.
    Reset { number: String },
    /// A reply (it names earlier messages) whose own text says "this wasn't me"
    /// (`domain::email_reply`). What it does depends on what it replies to.
    NotMe,
    /// A person wrote something else.
    Other,
}

/// What the receiving server's `Authentication-Results` says of the From domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// No `Authentication-Results` header: nothing is claimed either way.
    NotStated,
    /// DMARC or DKIM passed for the From domain.
    Pass,
    /// The header is there and neither DMARC nor DKIM passed for the From domain.
    Fail,
}

/// An email to the help line, read.
#[derive(Debug, Clone)]
pub struct InboundEmail {
    pub message_id: Option<MessageId>,
    /// The messages it replies to: `In-Reply-To`, then `References` newest first, capped
    /// (`domain::email_reply::references`). Empty when it is no reply.
    pub references: Vec<MessageId>,
    /// The From address; `None` when missing or not an address.
    pub from: Option<EmailAddress>,
    /// One line, control characters removed, at most [`MAX_SUBJECT`] characters.
    pub subject: String,
    /// The text (HTML turned into text when there is no plain part), quoted text and the
    /// signature stripped, at most [`MAX_TEXT`] characters.
    pub text: String,
    /// The language it is written in (CLAVE, or Spanish words, make it Spanish).
    pub lang: Lang,
    pub meaning: Meaning,
    pub authentication: Authentication,
}

/// The bytes are not an email at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body is not an RFC 5322 message (no header fields)")]
pub struct Unreadable;

/// Reads and classifies one raw RFC 5322 message.
pub fn read(raw: &[u8]) -> Result<InboundEmail, Unreadable> {
    let msg = MessageParser::default().parse(raw).ok_or(Unreadable)?;
    let headers: Vec<(String, String)> = msg
        .headers_raw()
        .map(|(n, v)| (n.to_ascii_lowercase(), unfold(v)))
        .collect();
    if headers.is_empty() {
        return Err(Unreadable);
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .and_then(|a| EmailAddress::parse(a).ok());
    let subject: String = one_line(msg.subject().unwrap_or_default(), MAX_SUBJECT);
    let body = msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
    let text = strip_quoted(&body);
    let message_id = msg.message_id().and_then(MessageId::parse);
    let references = email_reply::references(header("in-reply-to"), header("references"));

    let meaning = if let Some(failed) = bounce(&msg, &header) {
        Meaning::Bounce { failed }
    } else if let Some(why) = automatic(&header) {
        Meaning::Automatic(why)
    } else {
        match reset_request(&subject, &text) {
            Some((number, _)) => Meaning::Reset { number },
            None if !references.is_empty() && email_reply::says_not_me(&text) => Meaning::NotMe,
            None => Meaning::Other,
        }
    };
    let lang = match reset_request(&subject, &text) {
        Some((_, lang)) => lang,
        None if looks_spanish(&subject, &text) => Lang::Es,
        None => Lang::En,
    };
    let authentication = authentication(header("authentication-results"), from.as_ref());
    Ok(InboundEmail {
        message_id,
        references,
        from,
        subject,
        text,
        lang,
        meaning,
        authentication,
    })
}

/// A header's value on one line.
fn unfold(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` on one line without control characters, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// The failed recipients when the message is a delivery status report.
fn bounce<'a>(
    msg: &mail_parser::Message<'_>,
    header: &impl Fn(&str) -> Option<&'a str>,
) -> Option<Vec<EmailAddress>> {
    let report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let null_path = header("return-path").is_some_and(|p| p.trim() == "<>");
    let exim_failed = header("x-failed-recipients");
    let exim_bounce = null_path && exim_failed.is_some();
    if !(report || exim_bounce) {
        return None;
    }
    let mut failed: Vec<EmailAddress> = Vec::new();
    for part in &msg.parts {
        let status = part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
        });
        if status {
            failed.extend(failed_recipients(&String::from_utf8_lossy(part.contents())));
        }
    }
    if let Some(list) = exim_failed {
        failed.extend(list.split(',').filter_map(|a| EmailAddress::parse(a).ok()));
    }
    failed.dedup();
    Some(failed)
}

/// The `Final-Recipient`s of a `message/delivery-status` whose `Action` is `failed`.
fn failed_recipients(status: &str) -> Vec<EmailAddress> {
    let mut out = Vec::new();
    // Per-recipient fields come in blocks separated by an empty line.
    for block in status.replace("\r\n", "\n").split("\n\n") {
        let mut recipient = None;
        let mut failed = false;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" => {
                    let addr = value.split_once(';').map_or(value, |(_, a)| a);
                    recipient = EmailAddress::parse(addr.trim().trim_matches(['<', '>'])).ok();
                }
                "action" => failed = value.trim().eq_ignore_ascii_case("failed"),
                _ => {}
            }
        }
        if let (Some(r), true) = (recipient, failed) {
            out.push(r);
        }
    }
    out
}

/// Which sign says a machine sent the message, if any.
fn automatic<'a>(header: &impl Fn(&str) -> Option<&'a str>) -> Option<&'static str> {
    if let Some(v) = header("auto-submitted") {
        let kind = v.split(';').next().unwrap_or_default().trim();
        if !kind.eq_ignore_ascii_case("no") {
            return Some("Auto-Submitted");
        }
    }
    if header("precedence").is_some_and(|p| {
        ["bulk", "junk", "list"]
            .iter()
            .any(|k| p.trim().eq_ignore_ascii_case(k))
    }) {
        return Some("Precedence");
    }
    if header("x-autoreply").is_some() || header("x-autorespond").is_some() {
        return Some("X-Autoreply");
    }
    if header("x-auto-response-suppress").is_some() {
        return Some("X-Auto-Response-Suppress");
    }
    if header("return-path").is_some_and(|p| p.trim() == "<>") {
        return Some("null return path");
    }
    None
}

/// `RESET n` / `CLAVE n` as the subject (after any `Re:`) or the text's first line: the
/// number and the language of the keyword.
fn reset_request(subject: &str, text: &str) -> Option<(String, Lang)> {
    let first_line = text.lines().map(str::trim).find(|l| !l.is_empty());
    [Some(subject), first_line]
        .into_iter()
        .flatten()
        .find_map(|line| {
            let mut words = line.split_whitespace().skip_while(|w| {
                let w = w.to_ascii_lowercase();
                matches!(w.as_str(), "re:" | "fw:" | "fwd:" | "rv:" | "reenviar:")
            });
            let lang = match words.next()?.trim_end_matches([':', '.', ',']) {
                k if k.eq_ignore_ascii_case("reset") => Lang::En,
                k if k.eq_ignore_ascii_case("clave") => Lang::Es,
                _ => return None,
            };
            let number = words
                .next()?
                .trim_matches(|c: char| !c.is_ascii_alphanumeric());
            // A number has a digit: "Reset my password" is a person asking, not a request.
            (number.len() <= 64 && number.chars().any(|c| c.is_ascii_digit()))
                .then(|| (number.to_string(), lang))
        })
}

/// A few Spanish words a contractor asking for help would use.
fn looks_spanish(subject: &str, text: &str) -> bool {
    const WORDS: &[&str] = &[
        "hola",
        "gracias",
        "contraseña",
        "contrasena",
        "ayuda",
        "cuenta",
        "necesito",
        "puedo",
        "buenos",
        "buenas",
        "favor",
        "usted",
        "saludos",
    ];
    let all = format!("{subject} {text}").to_lowercase();
    all.split(|c: char| !c.is_alphanumeric())
        .filter(|w| WORDS.contains(w))
        .count()
        >= 1
}

/// The verdict of the topmost `Authentication-Results` (the receiving server's own: it adds
/// its header above any the sender wrote) for the From domain.
fn authentication(header: Option<&str>, from: Option<&EmailAddress>) -> Authentication {
    let Some(results) = header else {
        return Authentication::NotStated;
    };
    let Some(domain) = from
        .and_then(|f| f.as_str().rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase())
    else {
        return Authentication::Fail;
    };
    let passes = results.split(';').skip(1).any(|result| {
        let words: Vec<String> = result
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let prop = |name: &str| {
            words
                .iter()
                .find_map(|w| w.strip_prefix(name))
                .map(|v| v.trim_matches(['"', '(', ')']).to_string())
        };
        let first = words.first().map(String::as_str).unwrap_or_default();
        match first {
            "dmarc=pass" => prop("header.from=").is_none_or(|d| d == domain),
            "dkim=pass" => {
                prop("header.d=").is_some_and(|d| d == domain)
                    || prop("header.i=").is_some_and(|i| i.ends_with(&format!("@{domain}")))
            }
            _ => false,
        }
    });
    if passes {
        Authentication::Pass
    } else {
        Authentication::Fail
    }
}

#[cfg(test)]
mod corpus;

#[cfg(test)]
mod tests {
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

    fn addr(a: &str) -> EmailAddress {
        EmailAddress::parse(a).unwrap()
    }

    #[test]
    fn a_gmail_reply_is_a_person_writing_with_the_quote_stripped() {
        let m = read(fixture!("gmail_reply.eml")).unwrap();
        assert_eq!(m.meaning, Meaning::Other);
        assert_eq!(m.from, Some(addr("pat@frontrange-roofing.example")));
        assert_eq!(
            m.message_id.as_ref().map(MessageId::as_str),
            Some("CAF=8x+q0T1Qm3bWkJ@mail.gmail.com")
        );
        assert!(
            m.text.starts_with("Hi, I still cannot get in"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("wrote:"), "{}", m.text);
        assert!(!m.text.contains("reset your"), "{}", m.text);
        assert_eq!(m.lang, Lang::En);
        assert_eq!(m.authentication, Authentication::Pass);
    }

    #[test]
    fn an_outlook_reply_is_stripped_at_its_from_block() {
        let m = read(fixture!("outlook_reply.eml")).unwrap();
        assert_eq!(m.meaning, Meaning::Other);
        assert!(m.text.contains("new office email"), "{}", m.text);
        assert!(!m.text.contains("From:"), "{}", m.text);
        assert!(!m.text.contains("Westminster: reset"), "{}", m.text);
    }

    #[test]
    fn an_apple_mail_reset_request_in_spanish() {
        let m = read(fixture!("apple_mail_clave.eml")).unwrap();
        assert_eq!(
            m.meaning,
            Meaning::Reset {
                number: "1900862".into()
            }
        );
        assert_eq!(m.lang, Lang::Es);
        assert_eq!(m.from, Some(addr("rosa@clearcreek.example")));
        assert_eq!(m.subject, "Re: Contraseña del portal");
        assert_eq!(m.authentication, Authentication::NotStated);
    }

    #[test]
    fn out_of_office_replies_are_automatic() {
        let m = read(fixture!("auto_reply.eml")).unwrap();
        assert_eq!(m.meaning, Meaning::Automatic("Auto-Submitted"));
    }

    #[test]
    fn a_delivery_report_is_a_bounce_naming_the_failed_recipient() {
        let m = read(fixture!("dsn_bounce.eml")).unwrap();
        assert_eq!(
            m.meaning,
            Meaning::Bounce {
                failed: vec![addr("sam@milehigh.example")]
            }
        );
    }

    #[test]
    fn html_only_mail_is_read_as_text() {
        let m = read(fixture!("html_only.eml")).unwrap();
        assert_eq!(
            m.meaning,
            Meaning::Reset {
                number: "C-1002".into()
            }
        );
        assert_eq!(m.lang, Lang::En);
        assert!(m.text.contains("RESET C-1002"), "{}", m.text);
        assert!(!m.text.contains("<p>"), "{}", m.text);
    }

    #[test]
    fn latin1_text_and_encoded_words_are_decoded() {
        let m = read(fixture!("iso_8859_1.eml")).unwrap();
        assert_eq!(m.subject, "Necesito ayuda con mi contraseña");
        assert!(m.text.contains("señor"), "{}", m.text);
        assert_eq!(m.lang, Lang::Es);
        assert_eq!(m.meaning, Meaning::Other);
        assert_eq!(
            m.authentication,
            Authentication::Fail,
            "dkim for another domain"
        );
    }

    #[test]
    fn message_ids_that_could_break_a_header_are_refused() {
        assert!(MessageId::parse("<abc@example.com>").is_some());
        assert_eq!(
            MessageId::parse("<abc@example.com>").unwrap().bracketed(),
            "<abc@example.com>"
        );
        for bad in [
            "",
            "<>",
            "<a b@example.com>",
            "<a@x>\r\nBcc: x@example.com",
            "<a\"@x>",
            &"a".repeat(MAX_MESSAGE_ID + 1),
        ] {
            assert_eq!(MessageId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn markers_of_automatic_mail() {
        for (header, why) in [
            ("Auto-Submitted: auto-replied", Some("Auto-Submitted")),
            (
                "Auto-Submitted: auto-generated; owner-email=x@y.example",
                Some("Auto-Submitted"),
            ),
            ("Auto-Submitted: no", None),
            ("Precedence: bulk", Some("Precedence")),
            ("Precedence: List", Some("Precedence")),
            ("Precedence: first-class", None),
            ("X-Autoreply: yes", Some("X-Autoreply")),
            (
                "X-Auto-Response-Suppress: All",
                Some("X-Auto-Response-Suppress"),
            ),
            ("Return-Path: <>", Some("null return path")),
        ] {
            let raw = format!(
                "From: pat@frontrange-roofing.example\r\n{header}\r\nSubject: hi\r\n\r\nhello\r\n"
            );
            let m = read(raw.as_bytes()).unwrap();
            let want = why.map_or(Meaning::Other, Meaning::Automatic);
            assert_eq!(m.meaning, want, "{header}");
        }
    }

    #[test]
    fn reset_words_in_the_subject_or_first_line() {
        for (subject, body, want) in [
            ("RESET 1900862", "", Some(("1900862", Lang::En))),
            ("reset: C-1001.", "", Some(("C-1001", Lang::En))),
            ("Re: CLAVE B-884512", "", Some(("B-884512", Lang::Es))),
            (
                "help",
                "\n\n  Clave 1900862\nGracias",
                Some(("1900862", Lang::Es)),
            ),
            ("help", "Please RESET 1900862", None),
            ("RESET", "", None),
            ("Reset my password please", "", None),
        ] {
            let got = reset_request(subject, body);
            assert_eq!(
                got,
                want.map(|(n, l)| (n.to_string(), l)),
                "{subject:?} {body:?}"
            );
        }
    }

    #[test]
    fn authentication_results_must_pass_for_the_from_domain() {
        let from = addr("pat@frontrange-roofing.example");
        let verdict = |h: &str| authentication(Some(h), Some(&from));
        assert_eq!(
            verdict("mx.city.example; dmarc=pass header.from=frontrange-roofing.example"),
            Authentication::Pass
        );
        assert_eq!(
            verdict("mx.city.example; dkim=pass header.d=frontrange-roofing.example; spf=fail"),
            Authentication::Pass
        );
        assert_eq!(
            verdict("mx.city.example; dkim=pass header.d=evil.example; dmarc=fail"),
            Authentication::Fail
        );
        assert_eq!(verdict("mx.city.example; none"), Authentication::Fail);
        assert_eq!(authentication(None, Some(&from)), Authentication::NotStated);
    }

    #[test]
    fn garbage_is_unreadable_or_harmless() {
        assert!(read(b"").is_err());
        let m = read(b"just some words with no header\r\n");
        if let Ok(m) = m {
            assert_eq!(m.from, None);
        }
    }
}
