//! The pure driver: where a conversation is ([`Cursor`]), and what the adapter does next
//! ([`Step`]). Three calls, no I/O:
//!
//! - [`Flow::begin`] at an entry (`call`, `callback`, `text`);
//! - [`Flow::arrive`] when input arrives for the state the cursor waits in;
//! - [`Flow::resume`] with the outcome of the action a step asked for.
//!
//! A webhook typically calls `arrive`, runs the action if the step names one, then calls
//! `resume` with its outcome (an action may also finish later — `dial_staff` answers with
//! Twilio's dial callback — so the cursor is stored in between). States without input or action
//! are passed through within one call, their prompts collected in [`Step::say`].
//!
//! What the adapter supplies and keeps:
//! - [`OnRecord`]: which contacts the contractor remembered for the conversation has (nothing
//!   before verification); menu choices that need a missing one are neither said nor accepted.
//! - The [`Cursor`] (serialisable) and, for the slots, the values the prompts name: the number
//!   from `remember_number`'s [`Step::accepted`] for `{digits}`, the masked destination and
//!   lifetime after a send for `{destination}` and `{minutes}`, the secret after `read_secret`
//!   (see [`Slot`](super::Slot)). Words come from [`Words::render`](super::Words::render).
//!
//! ```
//! use helpline::domain::language::Lang;
//! use helpline::flows::{Action, ActionOutcome, Arrived, Flows, Next, OnRecord};
//!
//! let flows = Flows::embedded().unwrap();
//! let voice = flows.voice();
//! let nothing = OnRecord::NOTHING;
//! let step = voice.begin("call", Lang::En, nothing).unwrap(); // the language menu
//! let step = voice.arrive(&step.cursor, &Arrived::Digits("1".into()), nothing).unwrap();
//! let step = voice.arrive(&step.cursor, &Arrived::Digits("1".into()), nothing).unwrap();
//! let step = voice
//!     .arrive(&step.cursor, &Arrived::Digits("1900862#".into()), nothing)
//!     .unwrap();
//! assert_eq!(step.next, Next::Run(Action::RememberNumber));
//! assert_eq!(step.accepted.as_deref(), Some("1900862"));
//! // The adapter keeps the number for the call, then:
//! let step = voice.resume(&step.cursor, ActionOutcome::Ok, nothing).unwrap();
//! assert_eq!(step.cursor.state, "read_back"); // "You entered 1, 9, 0, 0, 8, 6, 2. …"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FlowKind;
use super::action::{Action, ActionOutcome};
use super::classify::{Class, classify};
use super::model::{Contact, Flow, Input, State};
use crate::domain::language::Lang;

pub use super::classify::Arrived;

/// Most states one call may pass through; only a broken flow gets near it.
const MAX_HOPS: usize = 1000;

/// Where a conversation stands; the adapter stores it (it serialises) between webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The current state: waiting for input, or running its action.
    pub state: String,
    /// Re-asks used in this state.
    pub tries: u32,
    /// The conversation's language.
    pub lang: Lang,
    /// Entries so far into states that limit them (`max_visits`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub visits: BTreeMap<String, u32>,
}

/// The contacts on record of the contractor the conversation is about: menu keys that need one
/// are offered only when it exists. Nothing is on record until the caller is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnRecord {
    pub mobile: bool,
    pub email: bool,
    pub phone: bool,
}

impl OnRecord {
    pub const NOTHING: OnRecord = OnRecord {
        mobile: false,
        email: false,
        phone: false,
    };

    pub fn has(self, contact: Contact) -> bool {
        match contact {
            Contact::Mobile => self.mobile,
            Contact::Email => self.email,
            Contact::Phone => self.phone,
        }
    }
}

/// A catalogue key to say or send, in a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub key: String,
    pub lang: Lang,
}

/// What input to gather, as the adapter sets up `<Gather>` (or waits for the next text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// One key among those offered now.
    Menu {
        keys: Vec<String>,
        speech: bool,
    },
    Digits {
        min: u32,
        max: u32,
        finish: Option<char>,
        speech: bool,
    },
    YesNo {
        speech: bool,
    },
    Speech {
        hints: Vec<String>,
    },
    Record {
        max_seconds: u32,
    },
    /// The next text message.
    Keyword,
}

/// What the adapter does after saying [`Step::say`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Run the action, then call [`Flow::resume`] with its outcome and [`Step::cursor`].
    Run(Action),
    /// Say `ask` while gathering `expect`; call [`Flow::arrive`] with what comes. `retry` is 0
    /// on the first ask and counts re-asks.
    Wait {
        ask: Vec<Prompt>,
        expect: Expect,
        timeout_seconds: u32,
        retry: u32,
    },
    /// Hang up, or send the last reply.
    End,
}

/// The driver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Prompts to say (or send) first, in order.
    pub say: Vec<Prompt>,
    /// Where the conversation is now; store it.
    pub cursor: Cursor,
    /// The input just accepted, cleaned: digits without the finish key, a keyword's argument
    /// ("RESET 1900862" → "1900862"), speech, a menu key. The action of this step works on it.
    pub accepted: Option<String>,
    pub next: Next,
}

/// A call the flow cannot answer. The flows are checked, so only a cursor stored under an older
/// flow file or an adapter mistake gets one; the adapter starts over or hands over to staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("the flow has no entry '{0}'")]
    UnknownEntry(String),
    #[error("the flow has no state '{0}'")]
    UnknownState(String),
    #[error("state '{0}' is not waiting for input")]
    NotWaiting(String),
    #[error("state '{0}' runs no action")]
    NoAction(String),
    #[error("action of state '{state}' cannot answer '{outcome}'")]
    UnexpectedOutcome {
        state: String,
        outcome: ActionOutcome,
    },
    #[error("state '{state}' has no way on for '{outcome}'")]
    NoWayOn { state: String, outcome: String },
    #[error("the flow passes through states without end from '{0}'")]
    Loop(String),
}

impl Flow {
    /// Starts a conversation at `entry` in `lang`.
    pub fn begin(&self, entry: &str, lang: Lang, on_record: OnRecord) -> Result<Step, DriverError> {
        let target = self
            .entries
            .get(entry)
            .ok_or_else(|| DriverError::UnknownEntry(entry.to_string()))?;
        let cursor = Cursor {
            state: target.clone(),
            tries: 0,
            lang,
            visits: BTreeMap::new(),
        };
        self.enter(target, cursor, Vec::new(), None, on_record)
    }

    /// Input arrived for the state `cursor` waits in.
    pub fn arrive(
        &self,
        cursor: &Cursor,
        arrived: &Arrived,
        on_record: OnRecord,
    ) -> Result<Step, DriverError> {
        let state = self.state(&cursor.state)?;
        if state.input == Input::None || state.end {
            return Err(DriverError::NotWaiting(cursor.state.clone()));
        }
        let offered = offered(state, on_record);
        let (outcome, accepted) = match classify(&state.input, arrived, &offered) {
            Class::Accepted { outcome, value } => {
                if let Some(action) = state.action {
                    return Ok(Step {
                        say: Vec::new(),
                        cursor: cursor.clone(),
                        accepted: Some(value),
                        next: Next::Run(action),
                    });
                }
                (outcome, Some(value))
            }
            Class::Invalid => ("invalid".to_string(), None),
            // A text is never silence: an empty one is not understood.
            Class::Timeout if self.kind == FlowKind::Sms => ("invalid".to_string(), None),
            Class::Timeout => ("timeout".to_string(), None),
        };
        if accepted.is_some() || state.on.contains_key(&outcome) {
            let target = route(&cursor.state, state, &outcome)?;
            return self.enter(target, cursor.clone(), Vec::new(), accepted, on_record);
        }
        // Not understood, or silence: ask again until the retries are used up.
        let tries = cursor.tries.saturating_add(1);
        if tries > state.retries {
            let target = route(&cursor.state, state, "exhausted")?;
            return self.enter(target, cursor.clone(), Vec::new(), None, on_record);
        }
        let reprompt = if outcome == "invalid" {
            &self.reprompt_invalid
        } else {
            &self.reprompt_timeout
        };
        let say = reprompt
            .iter()
            .map(|key| Prompt {
                key: key.clone(),
                lang: cursor.lang,
            })
            .collect();
        let cursor = Cursor {
            tries,
            ..cursor.clone()
        };
        let next = wait(state, &cursor, on_record, tries);
        Ok(Step {
            say,
            cursor,
            accepted: None,
            next,
        })
    }

    /// The action of the cursor's state answered `outcome`.
    pub fn resume(
        &self,
        cursor: &Cursor,
        outcome: ActionOutcome,
        on_record: OnRecord,
    ) -> Result<Step, DriverError> {
        let state = self.state(&cursor.state)?;
        let action = state
            .action
            .ok_or_else(|| DriverError::NoAction(cursor.state.clone()))?;
        if !action.outcomes().contains(&outcome) {
            return Err(DriverError::UnexpectedOutcome {
                state: cursor.state.clone(),
                outcome,
            });
        }
        let target = route(&cursor.state, state, outcome.as_str())?;
        self.enter(target, cursor.clone(), Vec::new(), None, on_record)
    }

    /// The question the cursor's state is waiting on, asked again as it was: for a webhook
    /// that must be answered again when its first answer was not kept (it read a secret).
    pub fn ask_again(&self, cursor: &Cursor, on_record: OnRecord) -> Result<Next, DriverError> {
        let state = self.state(&cursor.state)?;
        if matches!(state.input, Input::None) || state.end {
            return Err(DriverError::NotWaiting(cursor.state.clone()));
        }
        Ok(wait(state, cursor, on_record, cursor.tries))
    }

    fn state(&self, name: &str) -> Result<&State, DriverError> {
        self.states
            .get(name)
            .ok_or_else(|| DriverError::UnknownState(name.to_string()))
    }

    /// Enters `target` and passes through states that neither wait nor act nor end.
    fn enter(
        &self,
        target: &str,
        mut cursor: Cursor,
        mut say: Vec<Prompt>,
        accepted: Option<String>,
        on_record: OnRecord,
    ) -> Result<Step, DriverError> {
        let mut target = target.to_string();
        for _ in 0..MAX_HOPS {
            let state = self.state(&target)?;
            if let Some(max) = state.max_visits {
                let visits = cursor.visits.entry(target.clone()).or_insert(0);
                *visits = visits.saturating_add(1);
                if *visits > max {
                    target = route(&target, state, "too_many")?.to_string();
                    continue;
                }
            }
            cursor.state.clone_from(&target);
            cursor.tries = 0;
            if let Some(lang) = state.language {
                cursor.lang = lang;
            }
            let next = match (&state.input, state.action) {
                _ if state.end => Next::End,
                (Input::None, Some(action)) => Next::Run(action),
                (Input::None, None) => {
                    say.extend(prompts(state, cursor.lang, &[]));
                    target = route(&target, state, "next")?.to_string();
                    continue;
                }
                _ => wait(state, &cursor, on_record, 0),
            };
            if !matches!(next, Next::Wait { .. }) {
                say.extend(prompts(state, cursor.lang, &[]));
            }
            return Ok(Step {
                say,
                cursor,
                accepted,
                next,
            });
        }
        Err(DriverError::Loop(target))
    }
}

/// Where `outcome` leads from `state`.
fn route<'s>(name: &str, state: &'s State, outcome: &str) -> Result<&'s str, DriverError> {
    state
        .on
        .get(outcome)
        .map(String::as_str)
        .ok_or_else(|| DriverError::NoWayOn {
            state: name.to_string(),
            outcome: outcome.to_string(),
        })
}

/// Menu keys on offer: those needing nothing, and those whose contact is on record.
fn offered(state: &State, on_record: OnRecord) -> Vec<&str> {
    match &state.input {
        Input::Menu(menu) => menu
            .keys
            .iter()
            .filter(|k| menu.needs.get(*k).is_none_or(|c| on_record.has(*c)))
            .map(String::as_str)
            .collect(),
        _ => Vec::new(),
    }
}

/// The state's prompt (in every language when it says so), then the offered keys' own prompts.
fn prompts(state: &State, lang: Lang, offered: &[&str]) -> Vec<Prompt> {
    let langs: &[Lang] = if state.all_languages {
        &Lang::ALL
    } else {
        std::slice::from_ref(&lang)
    };
    let mut keys: Vec<&String> = state.prompt.iter().collect();
    if let Input::Menu(menu) = &state.input {
        keys.extend(
            menu.keys
                .iter()
                .filter(|k| offered.contains(&k.as_str()))
                .filter_map(|k| menu.say.get(k)),
        );
    }
    langs
        .iter()
        .flat_map(|l| {
            keys.iter().map(|k| Prompt {
                key: (*k).clone(),
                lang: *l,
            })
        })
        .collect()
}

/// The wait for the state's input.
fn wait(state: &State, cursor: &Cursor, on_record: OnRecord, retry: u32) -> Next {
    let offered = offered(state, on_record);
    let expect = match &state.input {
        Input::Menu(menu) => Expect::Menu {
            keys: offered.iter().map(|k| k.to_string()).collect(),
            speech: menu.speech,
        },
        Input::Digits(d) => Expect::Digits {
            min: d.min,
            max: d.max,
            finish: d.finish,
            speech: d.speech,
        },
        Input::YesNo { speech } => Expect::YesNo { speech: *speech },
        Input::Speech { hints } => Expect::Speech {
            hints: hints.clone(),
        },
        Input::Record { max_seconds } => Expect::Record {
            max_seconds: *max_seconds,
        },
        Input::Keyword(_) | Input::None => Expect::Keyword,
    };
    Next::Wait {
        ask: prompts(state, cursor.lang, &offered),
        expect,
        timeout_seconds: state.timeout_seconds,
        retry,
    }
}
