//! A flow file as the engine holds it, and how its TOML is read. Reading is forgiving on
//! purpose: each state table is read on its own, so one bad state is reported by name and the
//! others are still checked; the raw `on` table of a state that could not be read still counts
//! for reachability, so one typo does not also make its successors "unreachable".

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::FlowKind;
use super::action::Action;
use super::check::Problem;
use crate::domain::language::Lang;

/// Defaults when `[flow]` does not set them.
pub const DEFAULT_RETRIES: u32 = 2;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 5;
pub const DEFAULT_RECORD_SECONDS: u32 = 120;

/// One flow: its states and how a conversation enters it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub kind: FlowKind,
    /// The file as problems name it (`flows/voice.toml`, or `voice.toml (built in)`).
    pub file: String,
    pub name: String,
    /// Entry point name (`call`, `callback`, `text`) → state.
    pub entries: BTreeMap<String, String>,
    /// Said before re-asking after input that was not understood.
    pub reprompt_invalid: Option<String>,
    /// Said before re-asking after silence.
    pub reprompt_timeout: Option<String>,
    pub states: BTreeMap<String, State>,
}

/// One state: what is said, what is expected, what is done and where each outcome leads.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// A key of the shared catalogue (`voice_…`/`sms_…`).
    pub prompt: Option<String>,
    /// Say the prompt in every language in turn (the language menu).
    pub all_languages: bool,
    pub input: Input,
    /// Re-asks after `invalid` or `timeout` before the outcome is `exhausted`.
    pub retries: u32,
    /// Seconds of silence before `timeout` (voice).
    pub timeout_seconds: u32,
    pub action: Option<Action>,
    /// The conversation's language from this state on.
    pub language: Option<Lang>,
    /// Hang up (voice) or stop replying (SMS) after the prompt.
    pub end: bool,
    /// Entering the state more often than this in one conversation routes `too_many` instead.
    pub max_visits: Option<u32>,
    /// Outcome → next state.
    pub on: BTreeMap<String, String>,
}

/// What a state waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Nothing: after the prompt, the action runs or the flow goes on (`next`).
    None,
    /// One key among `keys`; outcome is the key.
    Menu(Menu),
    /// A digit string within bounds, optionally ended by a finish key; outcome `ok`.
    Digits(DigitString),
    /// 1 or a spoken yes → `yes`; 2 or a spoken no → `no`.
    YesNo { speech: bool },
    /// Free speech (where Twilio offers it); outcome `ok`.
    Speech { hints: Vec<String> },
    /// A recorded message (`<Record>`); outcome `ok`.
    Record { max_seconds: u32 },
    /// SMS: the first word of a text, among named groups of words; outcome is the group's name.
    Keyword(Keywords),
}

/// A menu. Keys listed in `needs` are offered only when that contact is on record; keys with a
/// `say` prompt have it said after the state's prompt, in the order of `keys`, when offered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Menu {
    pub keys: Vec<String>,
    pub needs: BTreeMap<String, Contact>,
    pub say: BTreeMap<String, String>,
    pub speech: bool,
}

/// Bounds of a digit string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitString {
    pub min: u32,
    pub max: u32,
    /// `#` by default; `*`, or none.
    pub finish: Option<char>,
    pub speech: bool,
}

/// SMS keywords: group name (the outcome) → words, upper case.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Keywords {
    pub groups: BTreeMap<String, Vec<String>>,
}

/// A contact a menu choice needs on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Contact {
    /// A mobile phone that takes text messages.
    Mobile,
    Email,
    /// A phone Helpline may call back.
    Phone,
}

impl Contact {
    fn parse(s: &str) -> Option<Contact> {
        match s {
            "mobile" => Some(Contact::Mobile),
            "email" => Some(Contact::Email),
            "phone" => Some(Contact::Phone),
            _ => None,
        }
    }
}

impl Input {
    /// The name a flow file uses for the kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Input::None => "none",
            Input::Menu(_) => "menu",
            Input::Digits(_) => "digits",
            Input::YesNo { .. } => "yes_no",
            Input::Speech { .. } => "speech",
            Input::Record { .. } => "record",
            Input::Keyword(_) => "keyword",
        }
    }

    /// Outcomes of accepted input (`invalid`, `timeout` and `exhausted` come on top).
    pub fn accepted_outcomes(&self) -> Vec<String> {
        match self {
            Input::None => vec!["next".into()],
            Input::Menu(m) => m.keys.clone(),
            Input::YesNo { .. } => vec!["yes".into(), "no".into()],
            Input::Digits(_) | Input::Speech { .. } | Input::Record { .. } => vec!["ok".into()],
            Input::Keyword(k) => k.groups.keys().cloned().collect(),
        }
    }
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    flow: RawHeader,
    #[serde(default)]
    states: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    #[serde(default)]
    entries: BTreeMap<String, String>,
    retries: Option<u32>,
    timeout_seconds: Option<u32>,
    reprompt_invalid: Option<String>,
    reprompt_timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    prompt: Option<String>,
    #[serde(default)]
    all_languages: bool,
    input: Option<RawInput>,
    retries: Option<u32>,
    timeout_seconds: Option<u32>,
    action: Option<String>,
    language: Option<String>,
    #[serde(default)]
    end: bool,
    max_visits: Option<u32>,
    #[serde(default)]
    on: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum RawInput {
    None,
    Menu {
        keys: Vec<String>,
        #[serde(default)]
        needs: BTreeMap<String, String>,
        #[serde(default)]
        say: BTreeMap<String, String>,
        #[serde(default)]
        speech: bool,
    },
    Digits {
        min: u32,
        max: u32,
        finish: Option<String>,
        #[serde(default)]
        speech: bool,
    },
    YesNo {
        #[serde(default)]
        speech: bool,
    },
    Speech {
        #[serde(default)]
        hints: Vec<String>,
    },
    Record {
        max_seconds: Option<u32>,
    },
    Keyword {
        keywords: BTreeMap<String, Vec<String>>,
    },
}

/// A read flow, the names of states that could not be read, and what went wrong reading.
pub(super) struct Parsed {
    pub flow: Flow,
    pub broken: BTreeSet<String>,
    pub problems: Vec<Problem>,
}

/// Where a TOML error is: "line N: message".
fn located(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", e.message().trim())
        }
        None => e.message().trim().to_string(),
    }
}

/// Reads a flow file. `None` when not even `[flow]` could be read.
pub(super) fn parse(kind: FlowKind, file: &str, text: &str) -> Result<Parsed, Vec<Problem>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        vec![Problem::file(
            file,
            format!("not a readable flow: {}", located(text, &e)),
        )]
    })?;
    let retries = raw.flow.retries.unwrap_or(DEFAULT_RETRIES);
    let timeout = raw.flow.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let mut problems = Vec::new();
    let mut broken = BTreeSet::new();
    let mut states = BTreeMap::new();
    for (name, value) in raw.states {
        let mut state_problem = |reason: String| {
            problems.push(Problem::state(file, &name, reason));
        };
        let state = match value.clone().try_into::<RawState>() {
            Ok(rs) => {
                let (state, ok) = convert(rs, retries, timeout, &mut state_problem);
                if !ok {
                    broken.insert(name.clone());
                }
                state
            }
            Err(e) => {
                state_problem(e.message().trim().replace('\n', " "));
                broken.insert(name.clone());
                placeholder(&value, retries, timeout)
            }
        };
        states.insert(name, state);
    }
    Ok(Parsed {
        flow: Flow {
            kind,
            file: file.to_string(),
            name: raw.flow.name,
            entries: raw.flow.entries,
            reprompt_invalid: raw.flow.reprompt_invalid,
            reprompt_timeout: raw.flow.reprompt_timeout,
            states,
        },
        broken,
        problems,
    })
}

/// A state that could not be read: only its `on` table, for reachability.
fn placeholder(value: &toml::Value, retries: u32, timeout: u32) -> State {
    let on = value
        .get("on")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    State {
        prompt: None,
        all_languages: false,
        input: Input::None,
        retries,
        timeout_seconds: timeout,
        action: None,
        language: None,
        end: false,
        max_visits: None,
        on,
    }
}

/// The typed state, and whether every field made sense.
fn convert(
    rs: RawState,
    retries: u32,
    timeout: u32,
    problem: &mut impl FnMut(String),
) -> (State, bool) {
    let mut ok = true;
    let mut bad = |reason: String| {
        ok = false;
        problem(reason);
    };
    let action = rs
        .action
        .as_deref()
        .and_then(|a| match a.parse::<Action>() {
            Ok(a) => Some(a),
            Err(e) => {
                bad(e.to_string());
                None
            }
        });
    let language = rs.language.as_deref().and_then(|l| match l {
        "en" => Some(Lang::En),
        "es" => Some(Lang::Es),
        other => {
            bad(format!(
                "unknown language '{other}' (the languages are: en, es)"
            ));
            None
        }
    });
    let input = match rs.input {
        None | Some(RawInput::None) => Input::None,
        Some(RawInput::Menu {
            keys,
            needs,
            say,
            speech,
        }) => {
            let mut typed = BTreeMap::new();
            for (key, contact) in needs {
                match Contact::parse(&contact) {
                    Some(c) => {
                        typed.insert(key, c);
                    }
                    None => bad(format!(
                        "menu key '{key}' needs unknown contact '{contact}' (mobile, email or phone)"
                    )),
                }
            }
            Input::Menu(Menu {
                keys,
                needs: typed,
                say,
                speech,
            })
        }
        Some(RawInput::Digits {
            min,
            max,
            finish,
            speech,
        }) => {
            let finish = match finish.as_deref() {
                None | Some("#") => Some('#'),
                Some("*") => Some('*'),
                Some("") => None,
                Some(other) => {
                    bad(format!(
                        "bad finish key '{other}': use \"#\", \"*\" or \"\" for none"
                    ));
                    Some('#')
                }
            };
            Input::Digits(DigitString {
                min,
                max,
                finish,
                speech,
            })
        }
        Some(RawInput::YesNo { speech }) => Input::YesNo { speech },
        Some(RawInput::Speech { hints }) => Input::Speech { hints },
        Some(RawInput::Record { max_seconds }) => Input::Record {
            max_seconds: max_seconds.unwrap_or(DEFAULT_RECORD_SECONDS),
        },
        Some(RawInput::Keyword { keywords }) => Input::Keyword(Keywords {
            groups: keywords
                .into_iter()
                .map(|(group, words)| {
                    let words = words.iter().map(|w| w.trim().to_uppercase()).collect();
                    (group, words)
                })
                .collect(),
        }),
    };
    let state = State {
        prompt: rs.prompt,
        all_languages: rs.all_languages,
        input,
        retries: rs.retries.unwrap_or(retries),
        timeout_seconds: rs.timeout_seconds.unwrap_or(timeout),
        action,
        language,
        end: rs.end,
        max_visits: rs.max_visits,
        on: rs.on,
    };
    (state, ok)
}
