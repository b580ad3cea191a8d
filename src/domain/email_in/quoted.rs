//! What a person wrote in an email, without the message they answered or forwarded and without
//! their signature: the rules come from the real-client samples in
//! `tests/api/fixtures/email/` (see `corpus.rs`), one line at a time, in English and Spanish.

use super::MAX_TEXT;

/// Lines that start a forwarded message (Gmail, Outlook, Apple Mail, Thunderbird; English and
/// Spanish): what the person wrote is the note above it.
const FORWARD_MARKERS: &[&str] = &[
    "---------- Forwarded message",
    "---------- Mensaje reenviado",
    "Begin forwarded message:",
    "Inicio del mensaje reenviado:",
    "-------- Original Message --------",
    "-------- Mensaje original --------",
    "-------- Forwarded Message --------",
    "-----Original Message-----",
    "-----Mensaje original-----",
];

/// Signatures phones add on their own line.
const DEVICE_SIGNATURES: &[&str] = &[
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from my Android",
    "Sent from Outlook for iOS",
    "Sent from Outlook for Android",
    "Enviado desde mi iPhone",
    "Enviado desde mi iPad",
];

/// The text a person wrote: up to the first quoted part or signature, at most [`MAX_TEXT`]
/// characters. What ends it: a `>` line; a reply's attribution ("On … wrote:", "El …
/// escribió:", also when the client wrapped it onto two lines, as Gmail does past 78
/// columns); Outlook's "From:"/"De:" block or its underscores divider; a forward marker
/// ([`FORWARD_MARKERS`]); the signature delimiter "-- "; a phone's "Sent from my iPhone".
pub fn strip_quoted(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        let wrote_something = kept.iter().any(|l| !l.trim().is_empty());
        if quote_starts(line, next, wrote_something) {
            break;
        }
        kept.push(line.trim_end());
    }
    let text = kept.join("\n");
    text.trim().chars().take(MAX_TEXT).collect()
}

/// True when `line` (followed by `next`, trimmed) starts the quoted part or the signature.
fn quote_starts(line: &str, next: &str, wrote_something: bool) -> bool {
    let t = line.trim();
    // "On <date>, <name> wrote:" on one line, or wrapped: the next line ends it; in text
    // made from HTML the quote may follow on the same line, after the sender's address.
    let attribution = |start: &str, end: &str| {
        t.starts_with(start)
            && (t.ends_with(end)
                || (!next.starts_with('>') && next.ends_with(end))
                || t.split_once(&format!(" {end}"))
                    .is_some_and(|(head, _)| head.contains('@')))
    };
    t.starts_with('>')
        || line == "-- "
        || t == "--"
        || t.starts_with("________________")
        || FORWARD_MARKERS.iter().any(|m| t.starts_with(m))
        || DEVICE_SIGNATURES.iter().any(|s| t.eq_ignore_ascii_case(s))
        || attribution("On ", "wrote:")
        || attribution("El ", "escribió:")
        || ((t.starts_with("From: ") || t.starts_with("De: ")) && wrote_something)
}
