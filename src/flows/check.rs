//! Validation of a flow: every problem, each naming the file and the state, so a city fixes them
//! all in one pass. A flow with any problem is refused at start-up and by `helpline flows check`;
//! a flow without problems never leaves the driver without a way on.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::FlowKind;
use super::model::{Flow, Input, Parsed, State};
use super::words::Words;
use crate::domain::language::Lang;

/// Longest digit string a state may ask for (Twilio's `numDigits` has no limit; ours does).
pub const MAX_DIGITS: u32 = 30;
/// Most re-asks a state may allow.
pub const MAX_RETRIES: u32 = 9;
/// Longest silence a voice state may wait for, in seconds.
pub const MAX_TIMEOUT_SECONDS: u32 = 60;
/// Longest message a caller may record, in seconds.
pub const MAX_RECORD_SECONDS: u32 = 600;

/// Outcomes the engine itself gives; a keyword group may not be named like one.
const RESERVED: [&str; 5] = ["invalid", "timeout", "exhausted", "next", "too_many"];

/// One thing wrong with a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub state: Option<String>,
    pub reason: String,
}

impl Problem {
    pub fn file(file: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            state: None,
            reason: reason.into(),
        }
    }

    pub fn state(file: &str, state: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            state: Some(state.to_string()),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, "{}: state '{}': {}", self.file, state, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// The outcomes a state must route, and those it may.
pub(super) struct Outcomes {
    pub required: Vec<String>,
    pub optional: Vec<String>,
}

/// What can happen in a state of a flow of this kind.
pub(super) fn outcomes(state: &State, kind: FlowKind) -> Outcomes {
    let mut required = Vec::new();
    let mut optional = Vec::new();
    if state.max_visits.is_some() {
        required.push("too_many".to_string());
    }
    if state.end {
        return Outcomes { required, optional };
    }
    let by_action = state.action.map(|a| {
        a.outcomes()
            .iter()
            .map(|o| o.as_str().to_string())
            .collect()
    });
    if state.input == Input::None {
        required.extend(by_action.unwrap_or_else(|| vec!["next".to_string()]));
        return Outcomes { required, optional };
    }
    required.extend(by_action.unwrap_or_else(|| state.input.accepted_outcomes()));
    let mut retried = vec!["invalid"];
    if kind == FlowKind::Voice {
        retried.push("timeout");
    }
    let all_routed = retried.iter().all(|o| state.on.contains_key(*o));
    optional.extend(retried.iter().map(|o| o.to_string()));
    if all_routed {
        optional.push("exhausted".into());
    } else {
        required.push("exhausted".into());
    }
    Outcomes { required, optional }
}

/// Every problem of a read flow.
pub(super) fn check(parsed: &Parsed, words: &Words) -> Vec<Problem> {
    let flow = &parsed.flow;
    let mut out = parsed.problems.clone();
    let file = flow.file.as_str();
    if flow.name.trim().is_empty() {
        out.push(Problem::file(file, "[flow] needs a name"));
    }
    for entry in flow.kind.entries() {
        if !flow.entries.contains_key(*entry) {
            out.push(Problem::file(
                file,
                format!("[flow] entries needs '{entry}' (the adapter starts there)"),
            ));
        }
    }
    for (entry, target) in &flow.entries {
        if !flow.states.contains_key(target) {
            out.push(Problem::file(
                file,
                format!("entry '{entry}' leads to state '{target}', which does not exist"),
            ));
        }
    }
    for key in [&flow.reprompt_invalid, &flow.reprompt_timeout]
        .into_iter()
        .flatten()
    {
        if let Some(reason) = prompt_problem(words, key) {
            out.push(Problem::file(file, format!("[flow] {reason}")));
        }
    }
    for (name, state) in &flow.states {
        let mut problem = |reason: String| out.push(Problem::state(file, name, reason));
        for (outcome, target) in &state.on {
            if !flow.states.contains_key(target) {
                problem(format!(
                    "outcome '{outcome}' leads to state '{target}', which does not exist"
                ));
            }
        }
        // A state with an unreadable part is checked for the rest, but its outcomes (which
        // depend on its action and input) are not guessed at.
        check_state(flow, state, words, &mut problem);
        if !parsed.broken.contains(name) {
            check_outcomes(flow.kind, state, &mut problem);
        }
    }
    graph_problems(flow, &parsed.broken, &mut out);
    out
}

/// Why a prompt key cannot be said, if it cannot.
fn prompt_problem(words: &Words, key: &str) -> Option<String> {
    let missing: Vec<&str> = Lang::ALL
        .into_iter()
        .filter(|l| words.text(*l, key).is_none())
        .map(Lang::code)
        .collect();
    if missing.len() == Lang::ALL.len() {
        Some(format!(
            "unknown prompt '{key}' (not a voice_ or sms_ key of the catalogue)"
        ))
    } else if !missing.is_empty() {
        Some(format!(
            "prompt '{key}' is missing in {}",
            missing.join(", ")
        ))
    } else {
        None
    }
}

fn check_state(flow: &Flow, state: &State, words: &Words, problem: &mut impl FnMut(String)) {
    let kind = flow.kind;
    let takes_input = state.input != Input::None;
    if let Some(key) = &state.prompt
        && let Some(reason) = prompt_problem(words, key)
    {
        problem(reason);
    }
    if takes_input && state.end {
        problem("takes input and ends the conversation: choose one".into());
    }
    if state.end && state.action.is_some() {
        problem(
            "ends the conversation and runs an action: route the action's outcomes to an end \
             state instead"
                .into(),
        );
    }
    if kind == FlowKind::Voice && takes_input && state.prompt.is_none() {
        problem("waits for input without saying anything: give it a prompt".into());
    }
    if !kind.inputs().contains(&state.input.kind_name()) {
        problem(format!(
            "input '{}' is not available on {} (use one of: {})",
            state.input.kind_name(),
            kind.describe(),
            kind.inputs().join(", ")
        ));
    }
    if let Some(action) = state.action {
        if action.kind() != kind {
            problem(format!(
                "action '{action}' belongs to the {} flow",
                action.kind().describe()
            ));
        }
        if matches!(
            state.input,
            Input::Menu(_) | Input::YesNo { .. } | Input::Keyword(_)
        ) {
            problem(format!(
                "action '{action}' runs on input accepted as 'ok', but a {} routes by its \
                 answers: put the action in the state an answer leads to",
                state.input.kind_name()
            ));
        }
        for outcome in action.secret_outcomes() {
            let after = state.on.get(outcome.as_str());
            let said = after
                .and_then(|t| flow.states.get(t))
                .and_then(|t| t.prompt.as_deref());
            let states_lifetime = said.is_some_and(|key| {
                Lang::ALL.into_iter().all(|l| {
                    words
                        .text(l, key)
                        .is_none_or(|text| text.contains("{minutes}"))
                })
            });
            if after.is_some() && !states_lifetime {
                problem(format!(
                    "after '{outcome}' a secret is on its way: the state it leads to must say \
                     how long it lasts (a prompt with {{minutes}} in every language)"
                ));
            }
        }
    }
    if kind == FlowKind::Voice
        && takes_input
        && !(1..=MAX_TIMEOUT_SECONDS).contains(&state.timeout_seconds)
    {
        problem(format!(
            "timeout_seconds must be 1 to {MAX_TIMEOUT_SECONDS}, not {}",
            state.timeout_seconds
        ));
    }
    if state.retries > MAX_RETRIES {
        problem(format!(
            "retries must be at most {MAX_RETRIES}, not {}",
            state.retries
        ));
    }
    if state.max_visits == Some(0) {
        problem("max_visits must be at least 1".into());
    }
    check_input(state, words, problem);
}

fn check_input(state: &State, words: &Words, problem: &mut impl FnMut(String)) {
    match &state.input {
        Input::Digits(d) => {
            if d.min > d.max {
                problem(format!("digits min {} is more than max {}", d.min, d.max));
            }
            if d.max == 0 || d.max > MAX_DIGITS {
                problem(format!(
                    "digits max must be 1 to {MAX_DIGITS}, not {}",
                    d.max
                ));
            }
        }
        Input::Menu(menu) => {
            if menu.keys.is_empty() {
                problem("a menu needs at least one key".into());
            }
            let mut seen = BTreeSet::new();
            for key in &menu.keys {
                let one_key = key.len() == 1 && key.chars().all(|c| c.is_ascii_digit());
                if !one_key {
                    problem(format!("menu key '{key}' is not one of the keys 0 to 9"));
                }
                if !seen.insert(key) {
                    problem(format!("menu key '{key}' is listed twice"));
                }
            }
            for key in menu.needs.keys().chain(menu.say.keys()) {
                if !menu.keys.contains(key) {
                    problem(format!("menu key '{key}' is described but not in keys"));
                }
            }
            for key in menu.say.values() {
                if let Some(reason) = prompt_problem(words, key) {
                    problem(reason);
                }
            }
        }
        Input::Keyword(k) => {
            if k.groups.is_empty() {
                problem("keyword input needs at least one group of words".into());
            }
            let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
            for (group, list) in &k.groups {
                if RESERVED.contains(&group.as_str()) {
                    problem(format!(
                        "keyword group '{group}' is named like an outcome the engine gives"
                    ));
                }
                if list.is_empty() {
                    problem(format!("keyword group '{group}' has no words"));
                }
                for word in list {
                    if word.is_empty() || word.chars().any(char::is_whitespace) {
                        problem(format!("keyword '{word}' of '{group}' must be one word"));
                    }
                    if let Some(first) = owner.insert(word, group) {
                        problem(format!(
                            "keyword '{word}' is in both '{first}' and '{group}'"
                        ));
                    }
                }
            }
        }
        Input::Record { max_seconds } if !(1..=MAX_RECORD_SECONDS).contains(max_seconds) => {
            problem(format!(
                "record max_seconds must be 1 to {MAX_RECORD_SECONDS}, not {max_seconds}"
            ));
        }
        _ => {}
    }
}

fn check_outcomes(kind: FlowKind, state: &State, problem: &mut impl FnMut(String)) {
    if !state.end && state.on.is_empty() {
        problem("dead end: not an end state, and no outcome leads on from here".into());
        return;
    }
    let Outcomes { required, optional } = outcomes(state, kind);
    for outcome in &required {
        if !state.on.contains_key(outcome) {
            problem(format!(
                "missing outcome '{outcome}': nothing says where it leads"
            ));
        }
    }
    for outcome in state.on.keys() {
        if !required.contains(outcome) && !optional.contains(outcome) {
            let mut possible: Vec<&str> = required
                .iter()
                .chain(&optional)
                .map(String::as_str)
                .collect();
            possible.sort_unstable();
            let possible = if possible.is_empty() {
                "none".to_string()
            } else {
                possible.join(", ")
            };
            problem(format!(
                "outcome '{outcome}' cannot happen here (possible: {possible})"
            ));
        }
    }
}

/// Unreachable states, and states from which no end state can be reached.
fn graph_problems(flow: &Flow, broken: &BTreeSet<String>, out: &mut Vec<Problem>) {
    let reachable = walk(flow.entries.values(), |s| {
        flow.states
            .get(s)
            .map(|st| st.on.values().cloned().collect())
            .unwrap_or_default()
    });
    let mut leads_here: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, state) in &flow.states {
        for target in state.on.values() {
            leads_here.entry(target).or_default().push(name.clone());
        }
    }
    let ends: Vec<String> = flow
        .states
        .iter()
        // States already reported (unreadable, or leading to a missing state) count as ends,
        // so one mistake is not reported again as a loop.
        .filter(|(n, s)| {
            s.end || broken.contains(*n) || s.on.values().any(|t| !flow.states.contains_key(t))
        })
        .map(|(n, _)| n.clone())
        .collect();
    let can_end = walk(ends.iter(), |s| {
        leads_here.get(s).cloned().unwrap_or_default()
    });
    for (name, state) in &flow.states {
        if !reachable.contains(name) {
            out.push(Problem::state(
                &flow.file,
                name,
                "unreachable: no entry leads here",
            ));
        } else if !can_end.contains(name) && !state.on.is_empty() {
            out.push(Problem::state(
                &flow.file,
                name,
                "no way from here ever ends the conversation (a loop without an end state)",
            ));
        }
    }
}

/// Every name reached from `start` by `next`.
fn walk<'a>(
    start: impl Iterator<Item = &'a String>,
    next: impl Fn(&str) -> Vec<String>,
) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = start.cloned().collect();
    while let Some(s) = queue.pop_front() {
        if seen.insert(s.clone()) {
            queue.extend(next(&s));
        }
    }
    seen
}
