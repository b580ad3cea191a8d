//! One simulated phone call, as Twilio would run it, with no I/O: a state machine that says
//! what to do [`next`](Call::next) — show the caller something, fetch TwiML, tell the server
//! something (status and recording callbacks), ask the caller — and is handed the server's
//! TwiML ([`Call::twiml`]) and the caller's answers ([`Call::answer`]). The command in
//! `super` drives it over HTTP and a terminal; the tests below drive it with strings.
//!
//! What it follows is Twilio's documented behaviour: `<Gather>` posts `Digits` without the
//! finish key and stops by itself at `numDigits`; no input goes on to the next verb (or to
//! `action` with `actionOnEmptyResult`); `<Dial>` reports `DialCallStatus` to its `action` or
//! goes on; an empty `<Record>` goes on, a recording is posted to `action` and its callbacks;
//! a request's answer replaces the rest of the document; the end of a document hangs up.

use std::collections::VecDeque;
use std::time::Instant;

use url::Url;

use super::twiml::{self, Gather, Method, Record, TwimlError, Verb};

/// Who is calling whom, and where Twilio would send the call.
#[derive(Debug, Clone)]
pub struct CallSetup {
    pub call_sid: String,
    pub account_sid: String,
    /// The caller, E.164.
    pub from: String,
    /// The help line's number, E.164.
    pub to: String,
    /// STIR/SHAKEN attestation Twilio passes on (`TN-Validation-Passed-A`), if any.
    pub stir_verstat: Option<String>,
    /// The number's voice webhook (`{public_url}/twilio/voice`).
    pub voice_url: Url,
    /// The number's status callback, if it has one.
    pub status_callback: Option<Url>,
    /// Whether a `<Dial>` is answered (`completed`) or not (`no-answer`).
    pub dial_answers: bool,
}

/// A request Twilio makes, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The URL as Twilio would have it (without the GET parameters).
    pub url: Url,
    pub params: Vec<(String, String)>,
}

impl Request {
    /// The URL requested and the form posted: for GET the parameters go in the query
    /// (appended to any already there) and nothing is posted.
    pub fn wire(&self) -> (Url, Vec<(String, String)>) {
        match self.method {
            Method::Post => (self.url.clone(), self.params.clone()),
            Method::Get => {
                let mut url = self.url.clone();
                if !self.params.is_empty() {
                    url.query_pairs_mut().extend_pairs(&self.params);
                }
                (url, Vec::new())
            }
        }
    }

    /// The first value of a parameter.
    #[cfg(test)]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Something the caller hears or notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Say {
        text: String,
        language: Option<String>,
    },
    Play(String),
    Pause(u32),
    Dialing {
        targets: Vec<String>,
        answered: bool,
    },
    /// The tone before a recording.
    Beep,
    /// Keys typed after the input had ended (past `numDigits` or the finish key).
    KeysIgnored(String),
    /// A verb the simulator does not perform.
    Skipped(String),
    Rejected(String),
    HungUp {
        by_caller: bool,
        seconds: u64,
    },
}

/// What the caller is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Keys (and/or speech) for a `<Gather>`.
    Keys {
        dtmf: bool,
        speech: bool,
        finish_on_key: Option<char>,
        num_digits: Option<u32>,
        timeout: u32,
    },
    /// A message for a `<Record>`.
    Recording { max_length: u32 },
}

/// The caller's answer: a line typed (keys, `say:` words, or a message), or hanging up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Line(String),
    HangUp,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Show(Event),
    /// Make this request and hand the TwiML answered to [`Call::twiml`].
    Fetch(Request),
    /// Make this request; its answer is not TwiML (a callback), only its status matters.
    Notify(Request),
    /// Ask the caller and hand the reply to [`Call::answer`].
    Ask(Question),
    /// The call is over.
    Over,
}

/// Why a caller's answer was not taken; the call waits for another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("'{0}' is not a phone key: keys are 0-9, * and #; type say: and words to speak")]
    NotAKey(char),
    #[error("this menu listens for keys only, not speech")]
    NoSpeech,
    #[error("this menu listens for speech only: type say: and the words")]
    NoKeys,
}

/// Why the call cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the answer to {method} {url} is not TwiML Twilio would follow: {error}")]
    Twiml {
        method: &'static str,
        url: String,
        error: TwimlError,
    },
    #[error(
        "{0} requests in a row without asking the caller anything: the TwiML redirects in a loop"
    )]
    Loop(u32),
}

/// After this many TwiML fetches without a question to the caller, the call is a loop.
pub const LOOP_LIMIT: u32 = 50;

/// What the call waits for before it can go on.
#[derive(Debug, Clone)]
enum Waiting {
    Nothing,
    Twiml(Request),
    Gather(Gather),
    Record(Record),
}

/// Decided steps not yet handed out.
#[derive(Debug, Clone)]
enum Step {
    Out(Next),
    Ask(Waiting),
}

#[derive(Debug)]
pub struct Call {
    setup: CallSetup,
    verbs: VecDeque<Verb>,
    steps: VecDeque<Step>,
    waiting: Waiting,
    /// The line has answered once (so requests say `in-progress`, not `ringing`).
    in_progress: bool,
    over: bool,
    fetches_without_question: u32,
    started: Instant,
}

impl Call {
    pub fn new(setup: CallSetup) -> Call {
        let mut call = Call {
            setup,
            verbs: VecDeque::new(),
            steps: VecDeque::new(),
            waiting: Waiting::Nothing,
            in_progress: false,
            over: false,
            fetches_without_question: 0,
            started: Instant::now(),
        };
        let first = call.request(Method::Post, call.setup.voice_url.clone(), NONE);
        call.steps.push_back(Step::Out(Next::Fetch(first)));
        call
    }

    pub fn setup(&self) -> &CallSetup {
        &self.setup
    }

    /// The next thing to do. While a fetch or a question is outstanding it is handed out
    /// again, so a driver cannot skip it.
    pub fn next(&mut self) -> Next {
        loop {
            match &self.waiting {
                Waiting::Nothing => {}
                Waiting::Twiml(r) => return Next::Fetch(r.clone()),
                Waiting::Gather(g) => return Next::Ask(gather_question(g)),
                Waiting::Record(r) => {
                    return Next::Ask(Question::Recording {
                        max_length: r.max_length,
                    });
                }
            }
            if let Some(step) = self.steps.pop_front() {
                match step {
                    Step::Out(Next::Fetch(r)) => self.waiting = Waiting::Twiml(r),
                    Step::Ask(w) => self.waiting = w,
                    Step::Out(next) => return next,
                }
                continue;
            }
            if self.over {
                return Next::Over;
            }
            match self.verbs.pop_front() {
                Some(verb) => self.perform(verb),
                None => self.hang_up(false),
            }
        }
    }

    /// The TwiML answered to the outstanding fetch: it replaces what was left of the document.
    pub fn twiml(&mut self, document: &str) -> Result<(), CallError> {
        let Waiting::Twiml(request) = &self.waiting else {
            return Ok(());
        };
        let verbs = twiml::parse(document, &request.url).map_err(|error| CallError::Twiml {
            method: request.method.as_str(),
            url: request.url.to_string(),
            error,
        })?;
        self.fetches_without_question += 1;
        if self.fetches_without_question > LOOP_LIMIT {
            return Err(CallError::Loop(LOOP_LIMIT));
        }
        self.verbs = verbs.into();
        self.waiting = Waiting::Nothing;
        self.in_progress = true;
        Ok(())
    }

    /// The caller's reply to the outstanding question. A reply that is not an answer (a letter
    /// where keys are wanted) is refused and the question stands.
    pub fn answer(&mut self, reply: Reply) -> Result<(), InputError> {
        let waiting = std::mem::replace(&mut self.waiting, Waiting::Nothing);
        if !matches!(waiting, Waiting::Gather(_) | Waiting::Record(_)) {
            // Nothing was asked: there is nothing to answer.
            self.waiting = waiting;
            return Ok(());
        }
        let result = match (&waiting, reply) {
            (Waiting::Gather(_) | Waiting::Record(_), Reply::HangUp) => {
                self.hang_up(true);
                Ok(())
            }
            (Waiting::Gather(g), Reply::Line(line)) => self.gathered(g, &line),
            (Waiting::Record(r), Reply::Line(line)) => {
                self.recorded(r, &line);
                Ok(())
            }
            (Waiting::Nothing | Waiting::Twiml(_), _) => Ok(()),
        };
        match result {
            Ok(()) => self.fetches_without_question = 0,
            Err(_) => self.waiting = waiting,
        }
        result
    }

    fn show(&mut self, event: Event) {
        self.steps.push_back(Step::Out(Next::Show(event)));
    }

    fn fetch(&mut self, request: Request) {
        self.steps.push_back(Step::Out(Next::Fetch(request)));
    }

    fn notify(&mut self, request: Request) {
        self.steps.push_back(Step::Out(Next::Notify(request)));
    }

    fn perform(&mut self, verb: Verb) {
        match verb {
            Verb::Say { text, language } => self.show(Event::Say { text, language }),
            Verb::Play { url } => self.show(Event::Play(url)),
            Verb::Pause { seconds } => self.show(Event::Pause(seconds)),
            Verb::Gather(mut g) => {
                for prompt in std::mem::take(&mut g.prompts) {
                    self.perform(prompt);
                }
                self.steps.push_back(Step::Ask(Waiting::Gather(g)));
            }
            Verb::Redirect { url, method } => {
                let r = self.request(method, url, NONE);
                self.fetch(r);
            }
            Verb::Dial(d) => {
                let answered = self.setup.dial_answers;
                self.show(Event::Dialing {
                    targets: d.targets,
                    answered,
                });
                if let Some(action) = d.action {
                    let dial_sid = sid("CA");
                    let status = if answered { "completed" } else { "no-answer" };
                    let mut extra =
                        vec![("DialCallSid", dial_sid), ("DialCallStatus", status.into())];
                    if answered {
                        extra.push(("DialCallDuration", "30".into()));
                    }
                    let r = self.request(d.method, action, extra);
                    self.fetch(r);
                }
            }
            Verb::Record(r) => {
                if r.play_beep {
                    self.show(Event::Beep);
                }
                self.steps.push_back(Step::Ask(Waiting::Record(r)));
            }
            Verb::Hangup => self.hang_up(false),
            Verb::Reject { reason } => {
                self.show(Event::Rejected(reason));
                self.hang_up(false);
            }
            Verb::Unsupported(name) => self.show(Event::Skipped(name)),
        }
    }

    fn gathered(&mut self, g: &Gather, line: &str) -> Result<(), InputError> {
        let line = line.trim();
        if let Some(words) = line.strip_prefix("say:") {
            if !g.speech {
                return Err(InputError::NoSpeech);
            }
            let words = words.trim();
            if words.is_empty() {
                self.no_input(g, None);
                return Ok(());
            }
            let r = self.request(
                g.method,
                g.action.clone(),
                [
                    ("SpeechResult", words.to_string()),
                    ("Confidence", "0.9".to_string()),
                ],
            );
            self.fetch(r);
            return Ok(());
        }
        let keys: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(bad) = keys.chars().find(|c| !twiml::is_key(*c)) {
            return Err(InputError::NotAKey(bad));
        }
        if !keys.is_empty() && !g.dtmf {
            return Err(InputError::NoKeys);
        }
        let mut digits = String::new();
        let mut finished = None;
        let mut used = 0;
        for c in keys.chars() {
            used += c.len_utf8();
            if Some(c) == g.finish_on_key {
                finished = Some(c);
                break;
            }
            digits.push(c);
            if g.num_digits.is_some_and(|n| digits.len() >= n as usize) {
                break;
            }
        }
        if used < keys.len() {
            self.show(Event::KeysIgnored(keys[used..].to_string()));
        }
        if digits.is_empty() {
            self.no_input(g, finished);
            return Ok(());
        }
        let finished = finished.map(String::from).unwrap_or_default();
        let r = self.request(
            g.method,
            g.action.clone(),
            [("Digits", digits), ("FinishedOnKey", finished)],
        );
        self.fetch(r);
        Ok(())
    }

    /// Nothing entered: on to the next verb, or to `action` when it wants empty results.
    fn no_input(&mut self, g: &Gather, finished: Option<char>) {
        if g.action_on_empty_result {
            let finished = finished.map(String::from).unwrap_or_default();
            let r = self.request(
                g.method,
                g.action.clone(),
                [("Digits", String::new()), ("FinishedOnKey", finished)],
            );
            self.fetch(r);
        }
    }

    fn recorded(&mut self, r: &Record, message: &str) {
        let message = message.trim();
        // An empty recording is not posted: Twilio goes on with the next verb.
        if message.is_empty() {
            return;
        }
        let recording_sid = sid("RE");
        let recording_url = format!(
            "https://api.twilio.example/2010-04-01/Accounts/{}/Recordings/{recording_sid}",
            self.setup.account_sid
        );
        // About two and a half words a second, as speech goes; never past maxLength.
        let words = message.split_whitespace().count() as u64;
        let seconds = (words * 2 / 5)
            .clamp(1, u64::from(r.max_length.max(1)))
            .to_string();
        let action = self.request(
            r.method,
            r.action.clone(),
            [
                ("RecordingUrl", recording_url.clone()),
                ("RecordingDuration", seconds.clone()),
                ("RecordingSid", recording_sid.clone()),
            ],
        );
        self.fetch(action);
        if let Some(url) = &r.recording_status_callback {
            let params = [
                ("AccountSid", self.setup.account_sid.clone()),
                ("CallSid", self.setup.call_sid.clone()),
                ("RecordingSid", recording_sid.clone()),
                ("RecordingUrl", recording_url.clone()),
                ("RecordingStatus", "completed".to_string()),
                ("RecordingDuration", seconds.clone()),
                ("RecordingChannels", "1".to_string()),
                ("RecordingSource", "RecordVerb".to_string()),
            ];
            self.notify(Request {
                method: r.recording_status_callback_method,
                url: url.clone(),
                params: owned(params),
            });
        }
        if let Some(url) = &r.transcribe_callback {
            let transcription_sid = sid("TR");
            let transcription_url = format!(
                "https://api.twilio.example/2010-04-01/Accounts/{}/Transcriptions/{transcription_sid}",
                self.setup.account_sid
            );
            let t = self.request(
                Method::Post,
                url.clone(),
                [
                    ("TranscriptionSid", transcription_sid),
                    ("TranscriptionText", message.to_string()),
                    ("TranscriptionStatus", "completed".to_string()),
                    ("TranscriptionUrl", transcription_url),
                    ("RecordingSid", recording_sid),
                    ("RecordingUrl", recording_url),
                ],
            );
            self.notify(t);
        }
    }

    /// The call ends: what the caller sees, then the status callback, then nothing more.
    fn hang_up(&mut self, by_caller: bool) {
        self.verbs.clear();
        let seconds = self.started.elapsed().as_secs();
        self.show(Event::HungUp { by_caller, seconds });
        if let Some(url) = self.setup.status_callback.clone() {
            let mut r = self.request(
                Method::Post,
                url,
                [
                    ("CallDuration", seconds.to_string()),
                    ("CallbackSource", "call-progress-events".to_string()),
                    ("SequenceNumber", "0".to_string()),
                ],
            );
            set(&mut r.params, "CallStatus", "completed");
            self.notify(r);
        }
        self.over = true;
    }

    /// A request carrying the parameters Twilio sends with every voice request, then `extra`.
    fn request<V: Into<String>>(
        &self,
        method: Method,
        url: Url,
        extra: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Request {
        let s = &self.setup;
        let status = if self.in_progress {
            "in-progress"
        } else {
            "ringing"
        };
        let mut params = owned([
            ("AccountSid", s.account_sid.clone()),
            ("ApiVersion", "2010-04-01".to_string()),
            ("CallSid", s.call_sid.clone()),
            ("CallStatus", status.to_string()),
            ("Called", s.to.clone()),
            ("Caller", s.from.clone()),
            ("Direction", "inbound".to_string()),
            ("From", s.from.clone()),
            ("To", s.to.clone()),
        ]);
        if let Some(stir) = &s.stir_verstat {
            params.push(("StirVerstat".into(), stir.clone()));
        }
        params.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v.into())));
        Request {
            method,
            url,
            params,
        }
    }
}

/// No parameters beyond the ones every request carries.
const NONE: [(&str, String); 0] = [];

fn gather_question(g: &Gather) -> Question {
    Question::Keys {
        dtmf: g.dtmf,
        speech: g.speech,
        finish_on_key: g.finish_on_key,
        num_digits: g.num_digits,
        timeout: g.timeout,
    }
}

fn owned<const N: usize>(params: [(&str, String); N]) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn set(params: &mut [(String, String)], name: &str, value: &str) {
    if let Some(p) = params.iter_mut().find(|(k, _)| k == name) {
        p.1 = value.to_string();
    }
}

/// A Twilio sid: two letters and 32 hex digits.
pub fn sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
