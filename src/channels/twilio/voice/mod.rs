//! The phone line: Twilio's voice webhooks, driven by `flows/voice.toml`. This adapter only
//! translates: a webhook becomes an input for the flow engine, the engine's actions become
//! calls of the recovery service, and the engine's prompts become TwiML.
//!
//! - `POST /twilio/voice` opens the call's conversation (keyed by `CallSid`) and answers its
//!   first prompt.
//! - `POST /twilio/voice/step?n=N` takes what the caller keyed in, said or recorded (or the
//!   silence after a `<Gather>`), and `POST /twilio/voice/dialed?n=N` the end of a transfer.
//!
//! Everything the call knows lives in the store, so any instance answers the next webhook and a
//! restart mid-call loses nothing. Each answer's URLs carry the number of the answer they lead
//! to (`n`); a webhook whose number was already answered (Twilio retried it) gets the same
//! TwiML again and nothing runs twice, because the first request claims its number with the
//! conversation's optimistic version before it acts. Keyed-in digits are never logged.

use std::time::Duration;

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::actions::{self, CallFacts};
use super::twiml::Twiml;
use super::{Dial, Gather, GatherInput, Record, Say, TwilioForm, VoiceResponse};
use crate::app::AppState;
use crate::domain::channel::Channel;
use crate::domain::conversation::{Checks, Conversation, ConversationKey};
use crate::domain::language::Lang;
use crate::flows::{Action, Arrived, Cursor, Expect, Next, OnRecord, Prompt, Slots, Step};
use crate::recovery::ConversationError;
use crate::recovery::callback::is_callback_key;
use crate::store::conversations::{NewConversation, Opened};

mod render;

use render::{Ending, Urls, goodbye, render, trouble};

/// How long a call's conversation is kept (Twilio ends calls after 4 hours at most).
const CALL_LIFETIME: Duration = Duration::from_secs(4 * 3600);

/// What Twilio posts when a call comes in.
#[derive(Debug, Deserialize)]
pub struct IncomingCall {
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "From", default)]
    from: String,
    /// STIR/SHAKEN's verdict on the caller ID, when the carrier gave one.
    #[serde(rename = "StirVerstat", default)]
    stir_verstat: Option<String>,
}

/// What Twilio posts to a `<Gather>`'s, `<Record>`'s or `<Dial>`'s action (or a redirect after
/// silence). No `Debug`: it holds keyed-in digits.
#[derive(Deserialize)]
pub struct CallStep {
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "Digits", default)]
    digits: Option<String>,
    #[serde(rename = "SpeechResult", default)]
    speech: Option<String>,
    #[serde(rename = "RecordingUrl", default)]
    recording_url: Option<String>,
    #[serde(rename = "DialCallStatus", default)]
    dial_status: Option<String>,
}

/// The answer number a webhook's URL carries, and on a call back its conversation's key.
#[derive(Debug, Deserialize)]
pub struct Answer {
    n: u32,
    #[serde(default)]
    c: Option<String>,
}

/// The conversation a call back's first webhook names.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    c: String,
}

/// What the call remembers between webhooks: the conversation's `state`, as JSON. The
/// contractor, the checks passed, the mismatches and the language are the conversation's own
/// columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CallState {
    pub cursor: Cursor,
    /// The number of the answer the next webhook must carry.
    pub seq: u32,
    pub facts: CallFacts,
    /// The TwiML of the last answer, given again to a webhook Twilio retries. Empty once the
    /// call back's password was made (it is in those answers, and is never stored): a retried
    /// webhook is then asked its question again.
    pub last: String,
}

/// Why a webhook could not be answered; the caller hears an apology either way.
pub(super) type VoiceError = super::StepError;

/// `POST /twilio/voice`: a call comes in.
pub async fn incoming(
    State(st): State<AppState>,
    TwilioForm(call): TwilioForm<IncomingCall>,
) -> Twiml {
    let Some(key) = ConversationKey::plain(&call.call_sid) else {
        return Twiml(goodbye(&st, Lang::En));
    };
    tracing::info!(call_sid = %call.call_sid, "incoming call");
    match start_call(&st, &key, &call).await {
        Ok(twiml) => Twiml(twiml),
        Err(e) => Twiml(trouble(&st, Lang::En, &e)),
    }
}

/// `POST /twilio/voice/step?n=N`: what the caller did at a prompt.
pub async fn step(
    State(st): State<AppState>,
    Query(answer): Query<Answer>,
    TwilioForm(form): TwilioForm<CallStep>,
) -> Twiml {
    let arrived = if let Some(url) = form.recording_url.as_deref().filter(|u| !u.is_empty()) {
        Input::Recording(url.to_string())
    } else if let Some(speech) = form.speech.filter(|s| !s.trim().is_empty()) {
        Input::Flow(Arrived::Speech(speech))
    } else {
        match form.digits.filter(|d| !d.is_empty()) {
            Some(d) => Input::Flow(Arrived::Digits(d)),
            None => Input::Flow(Arrived::Timeout),
        }
    };
    webhook(&st, &form.call_sid, answer, arrived).await
}

/// `POST /twilio/voice/dialed?n=N`: how a transfer to staff ended.
pub async fn dialed(
    State(st): State<AppState>,
    Query(answer): Query<Answer>,
    TwilioForm(form): TwilioForm<CallStep>,
) -> Twiml {
    let answered = form.dial_status.as_deref() == Some("completed");
    webhook(&st, &form.call_sid, answer, Input::Dialed { answered }).await
}

/// `POST /twilio/voice/callback?c=cb-…`: someone answered a call back Helpline placed. Its
/// conversation was opened when the caller asked for it; the CallSid is the new call's.
pub async fn callback(
    State(st): State<AppState>,
    Query(query): Query<CallbackQuery>,
    TwilioForm(call): TwilioForm<IncomingCall>,
) -> Twiml {
    let Some(key) = call_key(&call.call_sid, Some(&query.c)) else {
        return Twiml(goodbye(&st, Lang::En));
    };
    tracing::info!(call_sid = %call.call_sid, "call back answered");
    match answer_callback(&st, &key, &query.c).await {
        Ok(Some(twiml)) => Twiml(twiml),
        Ok(None) => Twiml(goodbye(&st, Lang::En)),
        Err((lang, e)) => Twiml(trouble(&st, lang, &e)),
    }
}

/// The conversation a webhook continues: the call back's named in the URL (`c`), else the
/// call's own, by CallSid. `None` for a `c` that names no call back.
pub(super) fn call_key(call_sid: &str, c: Option<&str>) -> Option<ConversationKey> {
    match c {
        Some(c) if is_callback_key(c) => ConversationKey::plain(c),
        Some(_) => None,
        None => ConversationKey::plain(call_sid),
    }
}

async fn answer_callback(
    st: &AppState,
    key: &ConversationKey,
    via: &str,
) -> Result<Option<String>, (Lang, VoiceError)> {
    let conv = match claim(st, key, 0).await {
        Ok(Claim::Mine(conv)) => conv,
        Ok(Claim::Answered(last)) => return again(st, key, last).await.map_err(|e| (Lang::En, e)),
        Err(VoiceError::Conversation(ConversationError::Gone)) => return Ok(None),
        Err(e) => return Err((Lang::En, e)),
    };
    let lang = conv.language;
    let inner = async {
        let mut state = read_state(&conv)?;
        state.facts.via = Some(via.to_string());
        let step = st
            .flows
            .voice()
            .begin("callback", lang, state.facts.on_record())?;
        run(st, key, conv, state, step).await
    };
    inner.await.map(Some).map_err(|e| (lang, e))
}

/// What a step webhook brought.
pub(super) enum Input {
    Flow(Arrived),
    Recording(String),
    Dialed { answered: bool },
}

async fn webhook(st: &AppState, call_sid: &str, answer: Answer, input: Input) -> Twiml {
    let Some(key) = call_key(call_sid, answer.c.as_deref()) else {
        return Twiml(goodbye(st, Lang::En));
    };
    match continue_call(st, &key, answer.n, input).await {
        Ok(Some(twiml)) => Twiml(twiml),
        Ok(None) => Twiml(goodbye(st, Lang::En)),
        Err((lang, e)) => Twiml(trouble(st, lang, &e)),
    }
}

async fn start_call(
    st: &AppState,
    key: &ConversationKey,
    call: &IncomingCall,
) -> Result<String, VoiceError> {
    let flow = st.flows.voice();
    let step = flow.begin("call", Lang::En, OnRecord::NOTHING)?;
    let mut state = CallState {
        cursor: step.cursor.clone(),
        seq: 0,
        facts: CallFacts::new(&call.from, call.stir_verstat.as_deref()),
        last: String::new(),
    };
    // The conversation is opened with the call's first answer already claimed. When that
    // answer needs nothing of the recovery service (the canonical flow's: which language), it
    // is made first and the conversation opens holding it: one write for the whole step.
    let (stored, answer) = match settled(&step) {
        Some(ending) => {
            let twiml = conclude(st, &mut state, &step.say, &step, ending);
            (state.clone(), Some(twiml))
        }
        None => {
            let claimed = CallState {
                seq: 1,
                ..state.clone()
            };
            (claimed, None)
        }
    };
    let opened = st
        .recovery
        .conversations()
        .open(
            &NewConversation {
                channel: Channel::Voice,
                key,
                contractor_id: None,
                checks: Checks::NONE,
                language: step.cursor.lang,
                state: &serde_json::to_string(&stored)?,
            },
            CALL_LIFETIME,
        )
        .await?;
    match (opened, answer) {
        // Twilio retried the first webhook: the same answer, nothing more.
        (Opened::Resumed(conv), _) => again(st, key, read_state(&conv)?.last)
            .await
            .map(Option::unwrap_or_default),
        (Opened::Started(_), Some(twiml)) => Ok(twiml),
        (Opened::Started(conv), None) => run(st, key, conv, state, step).await,
    }
}

/// Continues a call; `None` when it is over or unknown. The error carries the call's language
/// for the apology.
///
/// A step that needs nothing of the recovery service (a menu, a read-back, a re-ask) is one
/// read and one write: its answer is made from the conversation as read and written with the
/// version read, which claims answer `n` too. A step whose flow runs actions claims `n` first
/// and runs them after (see [`run`]).
async fn continue_call(
    st: &AppState,
    key: &ConversationKey,
    n: u32,
    input: Input,
) -> Result<Option<String>, (Lang, VoiceError)> {
    let decided = st
        .recovery
        .conversations()
        .update(Channel::Voice, key, |c| decide(st, c, n, &input))
        .await;
    let (conv, decided) = match decided {
        Ok(done) => done,
        Err(ConversationError::Gone) => return Ok(None),
        Err(e) => return Err((Lang::En, e.into())),
    };
    let lang = conv.language;
    match decided {
        Decided::Answered(last) => again(st, key, last).await.map_err(|e| (Lang::En, e)),
        Decided::Done(twiml) => Ok(Some(twiml)),
        Decided::Claimed(claimed) => {
            let (state, step) = *claimed;
            run(st, key, conv, state, step)
                .await
                .map(Some)
                .map_err(|e| (lang, e))
        }
        Decided::Failed(e) => Err((lang, e)),
    }
}

/// What a step webhook's one write decided.
enum Decided {
    /// Another request answered `n` already (Twilio retried): its TwiML.
    Answered(String),
    /// The step needed nothing more: its answer, stored with the call.
    Done(String),
    /// The step's flow runs actions: answer `n` is claimed; run them from here.
    Claimed(Box<(CallState, Step)>),
    /// The call's flow cannot go on; answer `n` is claimed.
    Failed(VoiceError),
}

/// Decides a step webhook on the conversation as read (see [`continue_call`]); may run more
/// than once, so it only changes `c`.
fn decide(st: &AppState, c: &mut Conversation, n: u32, input: &Input) -> Decided {
    let Ok(mut state) = serde_json::from_str::<CallState>(&c.state) else {
        return Decided::Answered(String::new());
    };
    if state.seq != n {
        return Decided::Answered(state.last);
    }
    state.seq = n + 1;
    let claimed = serde_json::to_string(&state).unwrap_or_default();
    let flow = st.flows.voice();
    let on_record = state.facts.on_record();
    let step = match input {
        Input::Flow(arrived) => flow.arrive(&state.cursor, arrived, on_record),
        Input::Recording(url) => {
            state.facts.recording = Some(url.clone());
            flow.arrive(&state.cursor, &Arrived::Recording, on_record)
        }
        Input::Dialed { answered } => {
            flow.resume(&state.cursor, actions::dial_outcome(*answered), on_record)
        }
    };
    let step = match step {
        Ok(step) => step,
        Err(e) => {
            c.state = claimed;
            return Decided::Failed(e.into());
        }
    };
    let Some(ending) = settled(&step) else {
        c.state = claimed;
        return Decided::Claimed(Box::new((state, step)));
    };
    let twiml = conclude(st, &mut state, &step.say, &step, ending);
    match serde_json::to_string(&state) {
        Ok(stored) => {
            c.state = stored;
            c.language = step.cursor.lang;
            Decided::Done(twiml)
        }
        Err(e) => {
            c.state = claimed;
            Decided::Failed(e.into())
        }
    }
}

/// Whether this request may act on answer `n`.
enum Claim {
    /// It may: the conversation as it stood, the claim written.
    Mine(Conversation),
    /// Another request answered `n` already (Twilio retried): its TwiML.
    Answered(String),
}

/// Claims answer `n` of the call: one conditional write moves the call's answer number past
/// `n`, so of two copies of a webhook only the first acts.
async fn claim(st: &AppState, key: &ConversationKey, n: u32) -> Result<Claim, VoiceError> {
    let (conv, mine) = st
        .recovery
        .conversations()
        .update(Channel::Voice, key, |c| {
            let Ok(mut state) = serde_json::from_str::<CallState>(&c.state) else {
                return Err(String::new());
            };
            if state.seq != n {
                return Err(state.last);
            }
            state.seq = n + 1;
            c.state = serde_json::to_string(&state).unwrap_or_default();
            Ok(())
        })
        .await?;
    match mine {
        Ok(()) => Ok(Claim::Mine(conv)),
        Err(last) => Ok(Claim::Answered(last)),
    }
}

/// The answer for a webhook that was answered already: the same TwiML, or, when that answer
/// was not kept (it read a secret, or is still being written), the question the call waits
/// on, asked again. `None` when the call is over.
async fn again(
    st: &AppState,
    key: &ConversationKey,
    last: String,
) -> Result<Option<String>, VoiceError> {
    if !last.is_empty() {
        return Ok(Some(last));
    }
    let Some(conv) = st
        .recovery
        .conversations()
        .live(Channel::Voice, key)
        .await?
    else {
        return Ok(None);
    };
    let state = read_state(&conv)?;
    let next = st
        .flows
        .voice()
        .ask_again(&state.cursor, state.facts.on_record())?;
    let step = Step {
        say: Vec::new(),
        cursor: state.cursor.clone(),
        accepted: None,
        next,
    };
    let lang = state.cursor.lang;
    let slots = actions::slots(st, lang, &state.facts);
    let urls = Urls::new(state.seq, state.facts.via.as_deref());
    Ok(Some(render(st, &[], &step, Ending::Flow, &urls, &slots)))
}

fn read_state(conv: &Conversation) -> Result<CallState, VoiceError> {
    Ok(serde_json::from_str(&conv.state)?)
}

/// Runs the flow from `step` until it waits for the caller, transfers, or ends: every action
/// on the way goes to the recovery service. Then renders the TwiML and stores where the call
/// is (its answer number already claimed, `conv` as the claim left it).
async fn run(
    st: &AppState,
    key: &ConversationKey,
    conv: Conversation,
    mut state: CallState,
    mut step: Step,
) -> Result<String, VoiceError> {
    let flow = st.flows.voice();
    let mut contractor = conv.contractor_id;
    let mut checks = conv.checks;
    let mut mismatches = conv.attempts;
    let mut said: Vec<Prompt> = Vec::new();
    let ending = loop {
        said.append(&mut step.say);
        if let Some(ending) = settled(&step) {
            break ending;
        }
        if let Next::Run(action) = step.next.clone() {
            let mut call = actions::Call {
                st,
                lang: step.cursor.lang,
                facts: &mut state.facts,
                contractor: &mut contractor,
                checks: &mut checks,
                mismatches: &mut mismatches,
            };
            let outcome = call.run(action, step.accepted.as_deref()).await?;
            let on_record = state.facts.on_record();
            step = flow.resume(&step.cursor, outcome, on_record)?;
        }
    };
    let lang = step.cursor.lang;
    let twiml = conclude(st, &mut state, &said, &step, ending);
    let stored = serde_json::to_string(&state)?;
    st.recovery
        .conversations()
        .update_from(conv, key, |c| {
            c.state = stored.clone();
            c.contractor_id = contractor;
            c.checks = checks;
            c.attempts = mismatches;
            c.language = lang;
        })
        .await?;
    Ok(twiml)
}

/// How a step ends when it needs nothing of the recovery service: it waits for the caller,
/// hangs up, or transfers to staff. `None` while the flow runs an action.
fn settled(step: &Step) -> Option<Ending> {
    match &step.next {
        Next::Run(Action::DialStaff) => Some(Ending::Dial),
        Next::Run(_) => None,
        Next::Wait { .. } | Next::End => Some(Ending::Flow),
    }
}

/// The answer to a settled step (`said`, then what `step` asks), and the call's state moved
/// on: its cursor, the answer number the next webhook must carry (one past `state.seq`), and
/// the TwiML kept for a retried webhook.
fn conclude(
    st: &AppState,
    state: &mut CallState,
    said: &[Prompt],
    step: &Step,
    ending: Ending,
) -> String {
    let seq = state.seq + 1;
    let slots = actions::slots(st, step.cursor.lang, &state.facts);
    let urls = Urls::new(seq, state.facts.via.as_deref());
    let twiml = render(st, said, step, ending, &urls, &slots);
    state.cursor = step.cursor.clone();
    state.seq = seq;
    state.last = if state.facts.secret_issued {
        String::new()
    } else {
        twiml.clone()
    };
    twiml
}
