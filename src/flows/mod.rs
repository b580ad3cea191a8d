//! The flow engine: the phone line's and the SMS channel's conversations, declared in
//! `flows/voice.toml` and `flows/sms.toml` and run by a pure driver. No HTTP, no store, no I/O
//! but reading the flow files; the voice and SMS adapters feed it what arrived and the outcomes
//! of the actions it asks for, and render what it says (see `driver` for the three calls).
//!
//! - `model`: a flow as read from TOML (states, prompts, inputs, actions, outcomes);
//! - `action`: the closed set of actions and the outcomes each can answer;
//! - `check`: every problem of a flow, naming file and state;
//! - `classify` and `driver`: input classification and the state machine;
//! - `words`: the prompts' words (the shared catalogue under the city's overrides) and slots;
//! - `graph`: Mermaid and DOT drawings.
//!
//! The flows are read from a directory (`flows/` by default, `HELPLINE_FLOWS_DIR` or
//! `flows.dir`); without one, the copies compiled into the binary serve, so `helpline demo`
//! runs from any directory.

use std::fmt;
use std::path::{Path, PathBuf};

mod action;
mod check;
mod classify;
mod driver;
pub mod graph;
mod model;
mod words;

pub use action::{Action, ActionOutcome, UnknownAction};
pub use check::{MAX_DIGITS, MAX_RETRIES, Problem};
pub use classify::MAX_TEXT;
pub use driver::{Arrived, Cursor, DriverError, Expect, Next, OnRecord, Prompt, Step};
pub use model::{Contact, DigitString, Flow, Input, Keywords, Menu, State};
pub use words::{ADAPTER_WORDS, SPELLING_ALPHABET, Slot, Slots, Words, fill, slots_in};

/// Which of the two flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowKind {
    Voice,
    Sms,
}

impl FlowKind {
    pub const ALL: [FlowKind; 2] = [FlowKind::Voice, FlowKind::Sms];

    /// The flow's file in the flows directory.
    pub fn file_name(self) -> &'static str {
        match self {
            FlowKind::Voice => "voice.toml",
            FlowKind::Sms => "sms.toml",
        }
    }

    /// The short name (`voice`, `sms`).
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Voice => "voice",
            FlowKind::Sms => "sms",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FlowKind::Voice => "voice",
            FlowKind::Sms => "SMS",
        }
    }

    /// The entry points the adapter starts conversations at.
    pub fn entries(self) -> &'static [&'static str] {
        match self {
            FlowKind::Voice => &["call", "callback"],
            FlowKind::Sms => &["text"],
        }
    }

    /// The input kinds the channel can gather.
    fn inputs(self) -> &'static [&'static str] {
        match self {
            FlowKind::Voice => &["none", "menu", "digits", "yes_no", "speech", "record"],
            FlowKind::Sms => &["none", "menu", "digits", "yes_no", "keyword"],
        }
    }

    /// The copy compiled into the binary.
    fn embedded(self) -> &'static str {
        match self {
            FlowKind::Voice => include_str!("../../flows/voice.toml"),
            FlowKind::Sms => include_str!("../../flows/sms.toml"),
        }
    }
}

/// Where the flows were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Directory(PathBuf),
    /// The copies compiled into the binary.
    Embedded,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Directory(dir) => write!(f, "directory {}", dir.display()),
            Source::Embedded => f.write_str("the copies built into helpline"),
        }
    }
}

/// Every problem found; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FlowProblems(pub Vec<Problem>);

impl fmt::Display for FlowProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl Flow {
    /// Reads and checks one flow file; `file` names it in problems.
    pub fn parse(
        kind: FlowKind,
        file: &str,
        text: &str,
        words: &Words,
    ) -> Result<Flow, Vec<Problem>> {
        let parsed = model::parse(kind, file, text)?;
        let problems = check::check(&parsed, words);
        if problems.is_empty() {
            Ok(parsed.flow)
        } else {
            Err(problems)
        }
    }
}

/// The checked flows and their words: what the adapters run.
#[derive(Debug, Clone, PartialEq)]
pub struct Flows {
    voice: Flow,
    sms: Flow,
    words: Words,
    source: Source,
}

impl Flows {
    /// The flows in `dir` when it exists; otherwise the built-in copies, unless the directory
    /// was named explicitly (`required`), which is then a problem.
    pub fn load(dir: &Path, required: bool) -> Result<Flows, FlowProblems> {
        if dir.is_dir() {
            Flows::from_dir(dir)
        } else if required {
            Err(FlowProblems(vec![Problem::file(
                &dir.display().to_string(),
                "the flows directory does not exist",
            )]))
        } else {
            Flows::embedded()
        }
    }

    /// `voice.toml`, `sms.toml` and the optional `prompts/{en,es}.toml` of `dir`.
    pub fn from_dir(dir: &Path) -> Result<Flows, FlowProblems> {
        let mut problems = Vec::new();
        let words = match Words::with_overrides_from(dir) {
            Ok(w) => w,
            Err(p) => {
                problems.extend(p);
                Words::builtin()
            }
        };
        let mut read = |kind: FlowKind| {
            let path = dir.join(kind.file_name());
            let label = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => Flow::parse(kind, &label, &text, &words)
                    .map_err(|p| problems.extend(p))
                    .ok(),
                Err(e) => {
                    problems.push(Problem::file(&label, format!("cannot read: {e}")));
                    None
                }
            }
        };
        let voice = read(FlowKind::Voice);
        let sms = read(FlowKind::Sms);
        match (voice, sms) {
            (Some(voice), Some(sms)) if problems.is_empty() => Ok(Flows {
                voice,
                sms,
                words,
                source: Source::Directory(dir.to_path_buf()),
            }),
            _ => Err(FlowProblems(problems)),
        }
    }

    /// The copies compiled into the binary, with the catalogue's words.
    pub fn embedded() -> Result<Flows, FlowProblems> {
        let words = Words::builtin();
        let mut problems = Vec::new();
        let mut read = |kind: FlowKind| {
            let label = format!("{} (built in)", kind.file_name());
            Flow::parse(kind, &label, kind.embedded(), &words)
                .map_err(|p| problems.extend(p))
                .ok()
        };
        let voice = read(FlowKind::Voice);
        let sms = read(FlowKind::Sms);
        match (voice, sms) {
            (Some(voice), Some(sms)) => Ok(Flows {
                voice,
                sms,
                words,
                source: Source::Embedded,
            }),
            _ => Err(FlowProblems(problems)),
        }
    }

    pub fn voice(&self) -> &Flow {
        &self.voice
    }

    pub fn sms(&self) -> &Flow {
        &self.sms
    }

    pub fn flow(&self, kind: FlowKind) -> &Flow {
        match kind {
            FlowKind::Voice => &self.voice,
            FlowKind::Sms => &self.sms,
        }
    }

    /// The words every prompt key resolves to.
    pub fn words(&self) -> &Words {
        &self.words
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// One line for logs and `flows check`: where from, and how many states.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} states, {}: {} states, from {}",
            self.voice.file,
            self.voice.states.len(),
            self.sms.file,
            self.sms.states.len(),
            self.source
        );
        if !self.words.overrides.is_empty() {
            s.push_str(&format!(
                ", words overridden by {}",
                self.words.overrides.join(", ")
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests;
