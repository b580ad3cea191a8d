//! TwiML answers: a small typed builder for the `<Response>` documents Twilio reads, voice
//! ([`VoiceResponse`]: `Say`, `Gather`, `Pause`, `Redirect`, `Dial`, `Record`, `Hangup`) and
//! messaging ([`MessagingResponse`]: `Message`), served as `text/xml`.
//!
//! Every text and attribute value goes through [`escape`], so a caller's input, a prompt or a
//! URL can never close an element or open another: `</Say><Dial>+1900…</Dial>` is spoken, not
//! dialled. The escaping is written here rather than taken from an XML crate because the
//! common ones (quick-xml's `escape`) pass control characters through, which makes a document
//! Twilio rejects; this one (about twenty lines, tested below with hostile and random input)
//! also drops the characters XML 1.0 forbids. Attributes are written in a fixed order, so a
//! document can be compared as a plain string in snapshot tests.

use std::fmt::Write as _;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::domain::language::Lang;

/// The language tag Twilio's `<Say>` and `<Gather>` take for a language Helpline speaks.
pub fn twilio_language(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en-US",
        Lang::Es => "es-MX",
    }
}

/// Appends `text` to `out` as XML character data or attribute value: `& < > " '` become
/// entities, tab, newline and carriage return become character references (so an attribute
/// keeps them), and the characters XML 1.0 does not allow at all (other C0 controls, U+FFFE,
/// U+FFFF) are dropped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => {}
        }
    }
}

/// `text` escaped as [`escape_into`] does.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// An element being written: `<name a="v" …` then either `/>` or `>…</name>`.
struct Element<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Element<'a> {
    fn open(out: &'a mut String, name: &'static str) -> Self {
        out.push('<');
        out.push_str(name);
        Element { out, name }
    }

    fn attr(self, name: &str, value: &str) -> Self {
        let _ = write!(self.out, " {name}=\"");
        escape_into(self.out, value);
        self.out.push('"');
        self
    }

    fn attr_opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    fn num_opt(self, name: &str, value: Option<u32>) -> Self {
        match value {
            Some(v) => self.attr(name, &v.to_string()),
            None => self,
        }
    }

    fn bool_opt(self, name: &str, value: Option<bool>) -> Self {
        self.attr_opt(name, value.map(|b| if b { "true" } else { "false" }))
    }

    fn empty(self) {
        self.out.push_str("/>");
    }

    fn text(self, text: &str) {
        self.out.push('>');
        escape_into(self.out, text);
        let _ = write!(self.out, "</{}>", self.name);
    }

    fn children(self, write: impl FnOnce(&mut String)) {
        self.out.push('>');
        write(self.out);
        let _ = write!(self.out, "</{}>", self.name);
    }
}

/// `<Say>`: words spoken to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    text: String,
    language: Option<Lang>,
    voice: Option<String>,
}

impl Say {
    /// Words in `lang` (`language="en-US"` or `"es-MX"`).
    pub fn new(lang: Lang, text: impl Into<String>) -> Say {
        Say {
            text: text.into(),
            language: Some(lang),
            voice: None,
        }
    }

    /// Words in Twilio's default language (no `language` attribute).
    pub fn plain(text: impl Into<String>) -> Say {
        Say {
            text: text.into(),
            language: None,
            voice: None,
        }
    }

    /// A voice by Twilio's name for it (`"Polly.Joanna"`, `"alice"`).
    pub fn voice(mut self, voice: impl Into<String>) -> Say {
        self.voice = Some(voice.into());
        self
    }

    fn write(&self, out: &mut String) {
        Element::open(out, "Say")
            .attr_opt("language", self.language.map(twilio_language))
            .attr_opt("voice", self.voice.as_deref())
            .text(&self.text);
    }
}

/// What `<Gather>` listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatherInput {
    /// Keys only.
    Dtmf,
    /// Keys or speech, whichever comes first.
    DtmfSpeech,
}

impl GatherInput {
    fn as_str(self) -> &'static str {
        match self {
            GatherInput::Dtmf => "dtmf",
            GatherInput::DtmfSpeech => "dtmf speech",
        }
    }
}

/// What may be nested in a `<Gather>`: prompts played while it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Prompt {
    Say(Say),
    Pause(u32),
}

/// `<Gather>`: collects keys (or speech) and posts them to `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    action: String,
    input: GatherInput,
    num_digits: Option<u32>,
    finish_on_key: Option<String>,
    timeout: Option<u32>,
    language: Option<Lang>,
    prompts: Vec<Prompt>,
}

impl Gather {
    /// Keys posted (`method="POST"`) to `action`.
    pub fn new(action: impl Into<String>) -> Gather {
        Gather {
            action: action.into(),
            input: GatherInput::Dtmf,
            num_digits: None,
            finish_on_key: None,
            timeout: None,
            language: None,
            prompts: Vec::new(),
        }
    }

    pub fn input(mut self, input: GatherInput) -> Gather {
        self.input = input;
        self
    }

    /// Stop after this many keys.
    pub fn num_digits(mut self, n: u32) -> Gather {
        self.num_digits = Some(n);
        self
    }

    /// The key that ends the input (`"#"`; `""` for none).
    pub fn finish_on_key(mut self, key: impl Into<String>) -> Gather {
        self.finish_on_key = Some(key.into());
        self
    }

    /// Seconds of silence before Twilio gives up and posts what it has.
    pub fn timeout(mut self, seconds: u32) -> Gather {
        self.timeout = Some(seconds);
        self
    }

    /// The language speech is recognised in.
    pub fn language(mut self, lang: Lang) -> Gather {
        self.language = Some(lang);
        self
    }

    /// Words said while listening.
    pub fn say(mut self, say: Say) -> Gather {
        self.prompts.push(Prompt::Say(say));
        self
    }

    /// A silence while listening.
    pub fn pause(mut self, seconds: u32) -> Gather {
        self.prompts.push(Prompt::Pause(seconds));
        self
    }

    fn write(&self, out: &mut String) {
        let el = Element::open(out, "Gather")
            .attr("input", self.input.as_str())
            .num_opt("numDigits", self.num_digits)
            .attr_opt("finishOnKey", self.finish_on_key.as_deref())
            .num_opt("timeout", self.timeout)
            .attr("action", &self.action)
            .attr("method", "POST")
            .attr_opt("language", self.language.map(twilio_language));
        if self.prompts.is_empty() {
            return el.empty();
        }
        el.children(|out| {
            for p in &self.prompts {
                match p {
                    Prompt::Say(s) => s.write(out),
                    Prompt::Pause(n) => write_pause(out, *n),
                }
            }
        });
    }
}

/// `<Dial><Number>…</Number></Dial>`: connects the caller to a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    number: String,
    timeout: Option<u32>,
    action: Option<String>,
}

impl Dial {
    pub fn number(number: impl Into<String>) -> Dial {
        Dial {
            number: number.into(),
            timeout: None,
            action: None,
        }
    }

    /// Seconds to let it ring.
    pub fn timeout(mut self, seconds: u32) -> Dial {
        self.timeout = Some(seconds);
        self
    }

    /// Where Twilio posts (`method="POST"`) how the dial ended.
    pub fn action(mut self, url: impl Into<String>) -> Dial {
        self.action = Some(url.into());
        self
    }

    fn write(&self, out: &mut String) {
        let el = Element::open(out, "Dial").num_opt("timeout", self.timeout);
        let el = match &self.action {
            Some(a) => el.attr("action", a).attr("method", "POST"),
            None => el,
        };
        el.children(|out| Element::open(out, "Number").text(&self.number));
    }
}

/// `<Record>`: records a message after the beep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    max_length: Option<u32>,
    action: Option<String>,
    transcribe: Option<bool>,
    transcribe_callback: Option<String>,
    recording_status_callback: Option<String>,
    play_beep: Option<bool>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    /// The longest recording, in seconds.
    pub fn max_length(mut self, seconds: u32) -> Record {
        self.max_length = Some(seconds);
        self
    }

    /// Where Twilio posts (`method="POST"`) when the recording ends.
    pub fn action(mut self, url: impl Into<String>) -> Record {
        self.action = Some(url.into());
        self
    }

    pub fn transcribe(mut self, on: bool) -> Record {
        self.transcribe = Some(on);
        self
    }

    /// Where Twilio posts the transcription (turns `transcribe` on).
    pub fn transcribe_callback(mut self, url: impl Into<String>) -> Record {
        self.transcribe = Some(true);
        self.transcribe_callback = Some(url.into());
        self
    }

    /// Where Twilio posts when the recording file is ready.
    pub fn recording_status_callback(mut self, url: impl Into<String>) -> Record {
        self.recording_status_callback = Some(url.into());
        self
    }

    pub fn play_beep(mut self, on: bool) -> Record {
        self.play_beep = Some(on);
        self
    }

    fn write(&self, out: &mut String) {
        let el = Element::open(out, "Record").num_opt("maxLength", self.max_length);
        let el = match &self.action {
            Some(a) => el.attr("action", a).attr("method", "POST"),
            None => el,
        };
        el.bool_opt("transcribe", self.transcribe)
            .attr_opt("transcribeCallback", self.transcribe_callback.as_deref())
            .attr_opt(
                "recordingStatusCallback",
                self.recording_status_callback.as_deref(),
            )
            .bool_opt("playBeep", self.play_beep)
            .empty();
    }
}

fn write_pause(out: &mut String, seconds: u32) {
    Element::open(out, "Pause")
        .attr("length", &seconds.to_string())
        .empty();
}

/// One verb of a voice answer, in the order Twilio carries them out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verb {
    Say(Say),
    Gather(Gather),
    Pause(u32),
    Redirect(String),
    Dial(Dial),
    Record(Record),
    Hangup,
}

/// The answer to a voice webhook: `<Response>` and its verbs. Served as `text/xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VoiceResponse {
    verbs: Vec<Verb>,
}

impl VoiceResponse {
    pub fn new() -> VoiceResponse {
        VoiceResponse::default()
    }

    pub fn say(mut self, say: Say) -> Self {
        self.verbs.push(Verb::Say(say));
        self
    }

    pub fn gather(mut self, gather: Gather) -> Self {
        self.verbs.push(Verb::Gather(gather));
        self
    }

    pub fn pause(mut self, seconds: u32) -> Self {
        self.verbs.push(Verb::Pause(seconds));
        self
    }

    /// Continue the call at `url` (`method="POST"`).
    pub fn redirect(mut self, url: impl Into<String>) -> Self {
        self.verbs.push(Verb::Redirect(url.into()));
        self
    }

    pub fn dial(mut self, dial: Dial) -> Self {
        self.verbs.push(Verb::Dial(dial));
        self
    }

    pub fn record(mut self, record: Record) -> Self {
        self.verbs.push(Verb::Record(record));
        self
    }

    pub fn hangup(mut self) -> Self {
        self.verbs.push(Verb::Hangup);
        self
    }

    /// The document, with its XML declaration.
    pub fn to_xml(&self) -> String {
        document(|out| {
            for verb in &self.verbs {
                match verb {
                    Verb::Say(s) => s.write(out),
                    Verb::Gather(g) => g.write(out),
                    Verb::Pause(n) => write_pause(out, *n),
                    Verb::Redirect(url) => Element::open(out, "Redirect")
                        .attr("method", "POST")
                        .text(url),
                    Verb::Dial(d) => d.write(out),
                    Verb::Record(r) => r.write(out),
                    Verb::Hangup => Element::open(out, "Hangup").empty(),
                }
            }
        })
    }
}

/// The answer to an SMS webhook: `<Response>` with a `<Message>` per reply (none: no reply).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagingResponse {
    messages: Vec<String>,
}

impl MessagingResponse {
    pub fn new() -> MessagingResponse {
        MessagingResponse::default()
    }

    /// A text back to the sender.
    pub fn message(mut self, body: impl Into<String>) -> Self {
        self.messages.push(body.into());
        self
    }

    pub fn to_xml(&self) -> String {
        document(|out| {
            for m in &self.messages {
                Element::open(out, "Message").text(m);
            }
        })
    }
}

fn document(body: impl FnOnce(&mut String)) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    Element::open(&mut out, "Response").children(body);
    out
}

/// TwiML as an HTTP answer: `text/xml`, never cached (a callback's TwiML may read a secret).
fn xml_response(xml: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        xml,
    )
        .into_response()
}

/// A TwiML document already rendered (a call step given again to a webhook Twilio retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twiml(pub String);

impl IntoResponse for Twiml {
    fn into_response(self) -> Response {
        xml_response(self.0)
    }
}

impl IntoResponse for VoiceResponse {
    fn into_response(self) -> Response {
        xml_response(self.to_xml())
    }
}

impl IntoResponse for MessagingResponse {
    fn into_response(self) -> Response {
        xml_response(self.to_xml())
    }
}

/// Snapshots of every element, and escaping of hostile and random input.
#[cfg(test)]
mod tests;
