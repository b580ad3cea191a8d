//! Texts to the help line: `POST /twilio/sms`, Twilio's incoming-message webhook, driven by
//! `flows/sms.toml`. Like the phone line, this adapter only translates: the text becomes an
//! input for the flow engine, the engine's actions become calls of the recovery service
//! (RESET, STOP, START), and the prompts on the way become the reply, one `<Message>`.
//!
//! In order, for every text:
//! 1. the signature ([`TwilioForm`]), before anything else;
//! 2. the per-number limit on texts (`Guard::allow_text`): a number over it gets an empty
//!    `<Response/>` — no reply, nothing done, counted in `helpline_sms_throttled_total`;
//! 3. the text's conversation, keyed by its `MessageSid` and opened with one conditional
//!    insert: the first request for a sid runs the flow; a retry of it (Twilio's, at once or
//!    later) runs nothing and gets the reply the first one stored, or an empty `<Response/>`
//!    while the first is still running. Either way nothing is done or sent twice;
//! 4. the flow, from its entry `text`, until it ends (each text is answered on its own).
//!
//! While the number has texted STOP (and not START since), no reply goes to it either: only
//! the STOP's own confirmation and START's. The body of a text (it carries a contractor
//! number) and the texting number are never logged; the `MessageSid` is.

use std::time::Duration;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::twiml::Twiml;
use super::{MessagingResponse, TwilioForm};
use crate::app::AppState;
use crate::domain::channel::Channel;
use crate::domain::conversation::{Checks, ConversationKey};
use crate::domain::language::Lang;
use crate::domain::phone::PhoneNumber;
use crate::flows::{Action, ActionOutcome, Arrived, Next, OnRecord, Prompt, Slot, Slots, Step};
use crate::recovery::TextReset;
use crate::store::conversations::{NewConversation, Opened};

/// How long a text's `MessageSid` is remembered: a retry of it within this time changes
/// nothing. Twilio retries within seconds.
const TEXT_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// What Twilio posts when a text comes in. No `Debug`: the body carries a contractor number.
#[derive(Deserialize)]
pub struct IncomingText {
    #[serde(rename = "MessageSid")]
    message_sid: String,
    #[serde(rename = "From", default)]
    from: String,
    /// The help line's number that was texted.
    #[serde(rename = "To", default)]
    to: String,
    #[serde(rename = "Body", default)]
    body: String,
}

/// What a text's conversation keeps: the reply given, for a retry of the same webhook.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TextState {
    /// The TwiML answered; `None` while the first request is still at work.
    reply: Option<String>,
}

/// Why a text could not be answered; the texter gets an apology.
type SmsError = super::StepError;

/// An answer that texts nothing back.
fn no_reply() -> String {
    MessagingResponse::new().to_xml()
}

/// `POST /twilio/sms`: a text comes in.
pub async fn incoming(
    State(st): State<AppState>,
    TwilioForm(text): TwilioForm<IncomingText>,
) -> Twiml {
    let Some(key) = ConversationKey::plain(&text.message_sid) else {
        return Twiml(no_reply());
    };
    let sid = text.message_sid.as_str();
    if !st.guard.allow_text(&text.from) {
        tracing::warn!(
            message_sid = sid,
            "text not answered: its number sent too many (guard.texts_per_number_*)"
        );
        return Twiml(no_reply());
    }
    match answer(&st, &key, &text).await {
        Ok(xml) => Twiml(xml),
        Err((lang, e)) => {
            tracing::error!(message_sid = sid, error = %e, "the help line could not answer a text");
            Twiml(reply(
                &st,
                &text,
                &[Prompt {
                    key: "sms_trouble".into(),
                    lang,
                }],
            ))
        }
    }
}

/// Answers a text once per `MessageSid`; the error carries the text's language so far.
async fn answer(
    st: &AppState,
    key: &ConversationKey,
    text: &IncomingText,
) -> Result<String, (Lang, SmsError)> {
    let at_work = serde_json::to_string(&TextState::default()).map_err(|e| (Lang::En, e.into()))?;
    let opened = st
        .recovery
        .conversations()
        .open(
            &NewConversation {
                channel: Channel::Sms,
                key,
                contractor_id: None,
                checks: Checks::NONE,
                language: Lang::En,
                state: &at_work,
            },
            TEXT_MEMORY,
        )
        .await
        .map_err(|e| (Lang::En, e.into()))?;
    if let Opened::Resumed(conv) = opened {
        // Twilio sent this text's webhook again: the same reply, nothing more.
        let stored: TextState = serde_json::from_str(&conv.state).unwrap_or_default();
        tracing::info!(
            message_sid = %text.message_sid,
            answered = stored.reply.is_some(),
            "a text seen before: nothing done again"
        );
        return Ok(stored.reply.unwrap_or_else(no_reply));
    }
    let mut lang = Lang::En;
    let xml = run(st, text, &mut lang).await.map_err(|e| (lang, e))?;
    let stored = serde_json::to_string(&TextState {
        reply: Some(xml.clone()),
    })
    .map_err(|e| (lang, e.into()))?;
    st.recovery
        .conversations()
        .update(Channel::Sms, key, |c| {
            c.state.clone_from(&stored);
            c.language = lang;
        })
        .await
        .map_err(|e| (lang, e.into()))?;
    Ok(xml)
}

/// Runs the flow for one text and renders the reply. `lang` follows the flow's language.
async fn run(st: &AppState, text: &IncomingText, lang: &mut Lang) -> Result<String, SmsError> {
    let flow = st.flows.sms();
    let nothing = OnRecord::NOTHING;
    let start = flow.begin("text", Lang::En, nothing)?;
    let arrived = Arrived::Text(text.body.clone());
    let mut step = flow.arrive(&start.cursor, &arrived, nothing)?;
    // RESET without a number is a text not understood: the instructions say what to send.
    if step.next == Next::Run(Action::SmsReset)
        && step.accepted.as_deref().is_none_or(|n| n.trim().is_empty())
    {
        step = flow.arrive(&start.cursor, &Arrived::Text(String::new()), nothing)?;
    }
    let was_stopped = st.recovery().texts_stopped(&text.from).await?;
    let mut stopped = was_stopped;
    let mut said: Vec<Prompt> = Vec::new();
    let mut did = "none";
    loop {
        said.append(&mut step.say);
        *lang = step.cursor.lang;
        let Next::Run(action) = step.next.clone() else {
            // The end, or (in a flow that asks for a second text) a question: each text is
            // answered on its own, so what it asks is said and the next text starts afresh.
            if let Next::Wait { ask, .. } = &step.next {
                said.extend(ask.iter().cloned());
            }
            break;
        };
        let outcome = act(st, text, &step, action, &mut stopped).await?;
        did = action.as_str();
        step = flow.resume(&step.cursor, outcome, nothing)?;
    }
    tracing::info!(message_sid = %text.message_sid, action = did, "text answered");
    if was_stopped && stopped {
        // Stopped before this text and still: Helpline texts this number nothing at all.
        return Ok(no_reply());
    }
    Ok(reply(st, text, &said))
}

/// Runs one action of the flow through the recovery service.
async fn act(
    st: &AppState,
    text: &IncomingText,
    step: &Step,
    action: Action,
    stopped: &mut bool,
) -> Result<ActionOutcome, SmsError> {
    let recovery = st.recovery_in(step.cursor.lang);
    Ok(match action {
        Action::SmsReset => {
            let number = step.accepted.as_deref().unwrap_or_default();
            match recovery.text_reset(number, &text.from).await? {
                TextReset::Sent => ActionOutcome::Sent,
                TextReset::Refused => ActionOutcome::Refused,
                TextReset::NotSent => ActionOutcome::NotSent,
            }
        }
        Action::SmsHelp => ActionOutcome::Ok,
        Action::SmsStop => {
            recovery.stop_texts(&text.from).await?;
            *stopped = true;
            ActionOutcome::Ok
        }
        Action::SmsStart => {
            recovery.start_texts(&text.from).await?;
            *stopped = false;
            ActionOutcome::Ok
        }
        other => return Err(SmsError::NotOnThisChannel("SMS channel", other)),
    })
}

/// The reply: every prompt said on the way, one text, in the GSM-7 alphabet (see
/// `messages::gsm7_fold`); nothing when nothing was said.
fn reply(st: &AppState, text: &IncomingText, said: &[Prompt]) -> String {
    if said.is_empty() {
        return no_reply();
    }
    let words = st.flows.words();
    let body = said
        .iter()
        .map(|p| words.render(p.lang, &p.key, &slots(st, p.lang, &text.to)))
        .collect::<Vec<_>>()
        .join("\n");
    MessagingResponse::new()
        .message(crate::messages::gsm7_fold(&body))
        .to_xml()
}

/// The values the replies may use, in `lang`: the city, the temporary password's lifetime
/// (the reply to RESET states it whether or not one was sent), the help line's number and
/// office hours.
fn slots(st: &AppState, lang: Lang, texted: &str) -> Slots {
    let settings = &st.settings;
    let mut s = Slots::new()
        .with(Slot::City, settings.city.name.clone())
        .with(
            Slot::Minutes,
            (settings.temporary_password_lifetime.as_secs() / 60).to_string(),
        );
    let hours = st.hours.text(settings, lang).unwrap_or_else(|| {
        st.flows
            .words()
            .render(lang, "sms_hours_unset", &Slots::new())
    });
    s.set(Slot::OfficeHours, hours);
    // The help line's own number; else the staff line; else the number that was texted.
    let line = [
        settings.twilio.from.as_deref(),
        settings.staff_phone.as_deref(),
        Some(texted),
    ]
    .into_iter()
    .flatten()
    .find_map(|n| PhoneNumber::parse(n).ok());
    if let Some(line) = line {
        s.set(Slot::LineNumber, line.national());
    }
    s
}
