//! `helpline simulate call --from +1…`: a phone call in the terminal against a running
//! Helpline, so anyone can try the line without a Twilio account. It does what Twilio does for
//! a call: posts the incoming call to `{public_url}/twilio/voice` signed with
//! `X-Twilio-Signature` (the server's own signer, [`signature::sign`]), then follows the TwiML
//! answered — says what `<Say>` says, asks for keys at `<Gather>`, follows `<Redirect>`,
//! `<Dial>` and `<Record>` — and at the hang-up posts the status callback.
//!
//! The call's logic is [`call::Call`], a state machine without I/O over [`twiml`]; this file
//! is its driver: options and settings, HTTP (reqwest), the terminal or a `--script`;
//! [`texts`] is `simulate text`.
//! It reads the settings only for defaults (`public_url`, `twilio.auth_token`,
//! `twilio.from`, `twilio.account_sid`) and touches no database.

mod call;
mod texts;
mod twiml;

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use url::Url;

use super::{Failure, other};
use crate::channels::twilio::signature::{self, SIGNATURE_HEADER};
use crate::config::Settings;
use crate::domain::phone::PhoneNumber;
use call::{Call, CallSetup, Event, InputError, Next, Question, Reply, Request};
use twiml::Method;

/// The help line's number when neither `--to` nor `twilio.from` says.
const DEMO_LINE: &str = "+13035550100";
/// The account when `twilio.account_sid` is not set.
const DEMO_ACCOUNT: &str = "AC00000000000000000000000000000000";
/// Twilio gives up on a webhook after 15 s.
const TWILIO_TIMEOUT: Duration = Duration::from_secs(15);
/// The most of an answer read; TwiML for one step is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// A phone call in the terminal against a running server, signed as Twilio signs.
    Call(CallArgs),
    /// Text messages to the help line from the terminal, signed as Twilio signs; prints the
    /// replies.
    Text(TextArgs),
}

/// Who calls or texts, and the line the requests go to: the options `call` and `text` share.
#[derive(Debug, Args)]
pub struct LineArgs {
    /// The caller's number (E.164 or any US form).
    #[arg(long, value_name = "NUMBER")]
    from: String,
    /// The help line's number [default: twilio.from, else +13035550100].
    #[arg(long, value_name = "NUMBER")]
    to: Option<String>,
    /// The server's public URL, as configured in Twilio [default: public_url,
    /// HELPLINE_PUBLIC_URL].
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Send the requests to this address instead (the server behind a proxy or tunnel, e.g.
    /// http://127.0.0.1:8080); they are still signed for --url.
    #[arg(long, value_name = "URL")]
    send_to: Option<String>,
    /// The auth token to sign with [default: twilio.auth_token, HELPLINE_TWILIO_AUTH_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    auth_token: Option<String>,
    /// Show every request made and how the server answered.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    line: LineArgs,
    /// The StirVerstat Twilio passes on, e.g. TN-Validation-Passed-A [default: none].
    #[arg(long, value_name = "VERSTAT")]
    stir: Option<String>,
    /// Run unattended: comma-separated answers, one per <Gather> or <Record> in turn (keys
    /// such as 1900862#, say:words for speech, empty for silence, hangup to hang up).
    #[arg(long, value_name = "ANSWERS")]
    script: Option<String>,
    /// A <Dial> is answered (DialCallStatus=completed) instead of ringing out (no-answer).
    #[arg(long)]
    dial_answers: bool,
    /// Where the call's status callback goes [default: /twilio/voice/status under --url].
    #[arg(long, value_name = "URL")]
    status_callback: Option<String>,
    /// Post no status callback at the end (a number configured without one).
    #[arg(long, conflicts_with = "status_callback")]
    no_status_callback: bool,
}

#[derive(Debug, Args)]
pub struct TextArgs {
    #[command(flatten)]
    line: LineArgs,
    /// The text to send, e.g. "RESET 1900862"; without it, each line typed is a text
    /// (Ctrl-D to stop).
    #[arg(value_name = "TEXT")]
    text: Option<String>,
}

/// Runs the command; exits through `Err` with a one-line reason.
pub async fn run(command: SimulateCommand, settings: Settings) -> Result<(), Failure> {
    let args = match command {
        SimulateCommand::Call(args) => args,
        SimulateCommand::Text(args) => return texts::texts(&args, &settings).await,
    };
    let (setup, line) = prepare(&args, &settings)?;
    let mut caller: Box<dyn Caller> = match &args.script {
        Some(script) => Box::new(Script::new(script)),
        None => Box::new(Terminal),
    };
    let mut out = std::io::stdout();
    drive(Call::new(setup), &line, caller.as_mut(), &mut out).await?;
    caller.finish();
    Ok(())
}

/// Who calls or texts, which number, and the line the requests go to.
struct Ends {
    from: String,
    to: String,
    account_sid: String,
    line: Line,
}

impl Ends {
    /// `path` under the public URL.
    fn at(&self, path: &str) -> Result<Url, Failure> {
        Url::parse(&format!("{}{path}", self.line.public_prefix)).map_err(other)
    }
}

/// The numbers and the line, from the shared options and the settings.
fn ends(args: &LineArgs, settings: &Settings) -> Result<Ends, Failure> {
    let number = |flag: &str, text: &str| {
        PhoneNumber::parse(text)
            .map(|p| p.to_string())
            .map_err(|e| other(format!("{flag} '{text}' {e}")))
    };
    let from = number("--from", &args.from)?;
    let to = match (&args.to, &settings.twilio.from) {
        (Some(to), _) => number("--to", to)?,
        (None, Some(line)) => line.clone(),
        (None, None) => DEMO_LINE.to_string(),
    };
    let public = match &args.url {
        Some(text) => http_url("--url", text)?,
        None => settings.public_url.clone(),
    };
    let prefix = url_prefix(&public);
    let token = match (&args.auth_token, &settings.twilio.auth_token) {
        (Some(t), _) => t.clone(),
        (None, Some(t)) => t.expose_secret().to_string(),
        (None, None) => {
            return Err(other(
                "no auth token to sign with: pass --auth-token or set \
                 HELPLINE_TWILIO_AUTH_TOKEN to the server's",
            ));
        }
    };
    let send_to = args
        .send_to
        .as_deref()
        .map(|s| http_url("--send-to", s))
        .transpose()?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TWILIO_TIMEOUT)
        .user_agent("TwilioProxy/1.1 (helpline simulate)")
        .build()
        .map_err(other)?;
    Ok(Ends {
        from,
        to,
        account_sid: settings
            .twilio
            .account_sid
            .clone()
            .unwrap_or_else(|| DEMO_ACCOUNT.into()),
        line: Line {
            client,
            token,
            public_prefix: prefix,
            send_to,
            verbose: args.verbose,
        },
    })
}

/// The call's setup and the line it is made on, from the options and the settings.
fn prepare(args: &CallArgs, settings: &Settings) -> Result<(CallSetup, Line), Failure> {
    let ends = ends(&args.line, settings)?;
    let status_callback = match (&args.status_callback, args.no_status_callback) {
        (_, true) => None,
        (None, false) => Some(ends.at("/twilio/voice/status")?),
        (Some(s), false) if s.starts_with('/') => Some(ends.at(s)?),
        (Some(s), false) => Some(http_url("--status-callback", s)?),
    };
    let setup = CallSetup {
        call_sid: call::sid("CA"),
        account_sid: ends.account_sid.clone(),
        from: ends.from.clone(),
        to: ends.to.clone(),
        stir_verstat: args
            .stir
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        voice_url: ends.at("/twilio/voice")?,
        status_callback,
        dial_answers: args.dial_answers,
    };
    Ok((setup, ends.line))
}

/// `simulate text`: each text posted to `/twilio/sms` as Twilio posts an incoming message,
/// and the reply printed (`💬`), or that none came.
fn http_url(flag: &str, text: &str) -> Result<Url, Failure> {
    match Url::parse(text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
        _ => Err(other(format!(
            "{flag} '{text}' is not an http:// or https:// URL"
        ))),
    }
}

/// A URL without its query, fragment and trailing slash: what paths are appended to, as the
/// server does when it rebuilds the URL Twilio signed.
fn url_prefix(url: &Url) -> String {
    let text = url.as_str();
    let text = text.split(['?', '#']).next().unwrap_or(text);
    text.trim_end_matches('/').to_string()
}

/// The address a request is sent to: under `--send-to` when it is under the public URL.
fn route(url: &Url, public_prefix: &str, send_to: Option<&Url>) -> Url {
    let Some(to) = send_to else {
        return url.clone();
    };
    match url.as_str().strip_prefix(public_prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with(['/', '?']) => {
            Url::parse(&format!("{}{rest}", url_prefix(to))).unwrap_or_else(|_| url.clone())
        }
        _ => url.clone(),
    }
}

/// The phone line: requests signed as Twilio signs them.
struct Line {
    client: reqwest::Client,
    token: String,
    public_prefix: String,
    send_to: Option<Url>,
    verbose: bool,
}

impl Line {
    /// Sends `request` and returns the answer's body; an error status, a failure to connect
    /// or no answer within Twilio's 15 s is the call's end, in one line.
    async fn send(&self, request: &Request, out: &mut impl Write) -> Result<String, Failure> {
        let (url, form) = request.wire();
        let signature = signature::sign(&self.token, url.as_str(), &form);
        let target = route(&url, &self.public_prefix, self.send_to.as_ref());
        let method = request.method.as_str();
        let mut req = match request.method {
            Method::Post => self.client.post(target.clone()).form(&form),
            Method::Get => self.client.get(target.clone()),
        };
        req = req.header(SIGNATURE_HEADER, signature);
        let started = Instant::now();
        let mut res = req.send().await.map_err(|e| {
            if e.is_timeout() {
                other(format!(
                    "{method} {target}: no answer within {} s (Twilio gives up then)",
                    TWILIO_TIMEOUT.as_secs()
                ))
            } else {
                other(format!(
                    "{method} {target}: cannot connect ({}); is the server running?",
                    root_cause(&e)
                ))
            }
        })?;
        let status = res.status();
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| other(format!("{method} {target}: {}", root_cause(&e))))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(other(format!(
                    "{method} {target}: the answer is over {MAX_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if self.verbose {
            let ms = started.elapsed().as_millis();
            show(out, &format!("   ↪ {method} {target} → {status}, {ms} ms"))?;
        }
        if !status.is_success() {
            return Err(other(format!(
                "{method} {target} answered {status}{}",
                gist(&body).map(|l| format!(": {l}")).unwrap_or_default()
            )));
        }
        Ok(body)
    }
}

/// What an error answer says in one line: an HTML page's title, else its first line.
fn gist(body: &str) -> Option<String> {
    let title = body
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title.split_whitespace().collect::<Vec<_>>().join(" "));
    title.filter(|t| !t.is_empty()).or_else(|| {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    })
}

/// The innermost error's words (reqwest's outer ones only say "error sending request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// The person (or script) on the phone.
trait Caller {
    /// The answer to `question`; `Err` when there is none to give.
    fn answer(&mut self, question: &Question, out: &mut dyn Write) -> Result<Reply, Failure>;
    /// An answer the call did not take: a person is told and asked again, a script fails.
    fn refused(&mut self, error: InputError, out: &mut dyn Write) -> Result<(), Failure>;
    /// The call is over.
    fn finish(&mut self) {}
}

/// Answers typed at the terminal; end of input (Ctrl-D) or `hangup` hangs up.
struct Terminal;

impl Caller for Terminal {
    fn answer(&mut self, question: &Question, out: &mut dyn Write) -> Result<Reply, Failure> {
        write!(out, "{} > ", prompt(question)).map_err(other)?;
        out.flush().map_err(other)?;
        let mut line = String::new();
        // Reading the terminal blocks; let the runtime move its other work elsewhere.
        let read = tokio::task::block_in_place(|| std::io::stdin().lock().read_line(&mut line))
            .map_err(other)?;
        if read == 0 {
            writeln!(out).map_err(other)?;
            return Ok(Reply::HangUp);
        }
        Ok(reply(line.trim()))
    }

    fn refused(&mut self, error: InputError, out: &mut dyn Write) -> Result<(), Failure> {
        writeln!(out, "   {error}").map_err(other)
    }
}

/// `--script`: one answer per question, in order.
struct Script {
    answers: Vec<String>,
    used: usize,
}

impl Script {
    fn new(script: &str) -> Script {
        Script {
            answers: script.split(',').map(|a| a.trim().to_string()).collect(),
            used: 0,
        }
    }
}

impl Caller for Script {
    fn answer(&mut self, question: &Question, out: &mut dyn Write) -> Result<Reply, Failure> {
        let Some(answer) = self.answers.get(self.used) else {
            let what = match question {
                Question::Keys { .. } => "<Gather>",
                Question::Recording { .. } => "<Record>",
            };
            return Err(other(format!(
                "the script ran out: a {what} asks for answer {} and the script has {}",
                self.used + 1,
                self.answers.len()
            )));
        };
        self.used += 1;
        let shown = match (answer.as_str(), question) {
            ("", Question::Keys { .. }) => "(silence)",
            ("", Question::Recording { .. }) => "(no message)",
            (a, _) => a,
        };
        writeln!(out, "{} {shown}", prompt_mark(question)).map_err(other)?;
        Ok(reply(answer))
    }

    fn refused(&mut self, error: InputError, _: &mut dyn Write) -> Result<(), Failure> {
        Err(other(format!(
            "script answer {} ('{}'): {error}",
            self.used,
            self.answers
                .get(self.used.saturating_sub(1))
                .map_or("", String::as_str)
        )))
    }

    fn finish(&mut self) {
        let left = &self.answers[self.used.min(self.answers.len())..];
        if !left.is_empty() {
            eprintln!(
                "helpline: note: the call ended before the script did; unused: {}",
                left.join(",")
            );
        }
    }
}

fn reply(line: &str) -> Reply {
    if line.eq_ignore_ascii_case("hangup") {
        Reply::HangUp
    } else {
        Reply::Line(line.to_string())
    }
}

fn prompt_mark(question: &Question) -> &'static str {
    match question {
        Question::Keys { .. } => "⌨ ",
        Question::Recording { .. } => "🎙",
    }
}

/// What the caller is asked, with how to answer.
fn prompt(question: &Question) -> String {
    match question {
        Question::Keys {
            dtmf,
            speech,
            finish_on_key,
            num_digits,
            timeout,
        } => {
            let mut how = Vec::new();
            if *dtmf {
                how.push(match (num_digits, finish_on_key) {
                    (Some(1), _) => "press a key".to_string(),
                    (Some(n), Some(k)) => format!("up to {n} keys, end with {k}"),
                    (Some(n), None) => format!("up to {n} keys"),
                    (None, Some(k)) => format!("keys, end with {k}"),
                    (None, None) => "keys".to_string(),
                });
            }
            if *speech {
                how.push("say:words to speak".into());
            }
            how.push(format!("Enter alone = {timeout} s of silence"));
            format!("{} {}", prompt_mark(question), how.join("; "))
        }
        Question::Recording { max_length } => format!(
            "{} recording (up to {max_length} s): type a message, or Enter for none",
            prompt_mark(question)
        ),
    }
}

/// How an event shows in the terminal.
fn describe(event: &Event) -> String {
    match event {
        Event::Say { text, language } => match language.as_deref() {
            Some(l) if !l.to_ascii_lowercase().starts_with("en") => format!("🔊 [{l}] {text}"),
            _ => format!("🔊 {text}"),
        },
        Event::Play(url) => format!("🎵 (plays {url})"),
        Event::Pause(seconds) => ".".repeat((*seconds).clamp(1, 10) as usize),
        Event::Dialing { targets, answered } => format!(
            "☎  dialing {}… {}",
            targets.join(", "),
            if *answered {
                "answered; that call has ended"
            } else {
                "no answer"
            }
        ),
        Event::Beep => "⏺  beep".to_string(),
        Event::KeysIgnored(keys) => format!("   (the input had ended: {keys} not heard)"),
        Event::Skipped(verb) => format!("⚠  <{verb}> is not simulated; skipped"),
        Event::Rejected(reason) => format!("📴 the line rejects the call ({reason})"),
        Event::HungUp { by_caller, seconds } => format!(
            "📴 {} after {seconds} s",
            if *by_caller {
                "you hang up"
            } else {
                "the line hangs up"
            }
        ),
    }
}

fn show(out: &mut impl Write, text: &str) -> Result<(), Failure> {
    writeln!(out, "{text}").map_err(other)
}

/// Runs the call to its end: shows, requests, asks, as the call says.
async fn drive(
    mut call: Call,
    line: &Line,
    caller: &mut dyn Caller,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let s = call.setup();
    show(
        out,
        &format!("📞 {} calls {} (CallSid {})", s.from, s.to, s.call_sid),
    )?;
    loop {
        match call.next() {
            Next::Show(event) => show(out, &describe(&event))?,
            Next::Fetch(request) => {
                let body = line.send(&request, out).await?;
                call.twiml(&body).map_err(other)?;
            }
            Next::Notify(request) => {
                line.send(&request, out).await?;
            }
            Next::Ask(question) => loop {
                let reply = caller.answer(&question, out)?;
                match call.answer(reply) {
                    Ok(()) => break,
                    Err(e) => caller.refused(e, out)?,
                }
            },
            Next::Over => return out.flush().map_err(other),
        }
    }
}

#[cfg(test)]
mod tests;
