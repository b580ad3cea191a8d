//! TwiML read as Twilio reads it, for `simulate call`: a `<Response>` document becomes the
//! list of [`Verb`]s the call performs, with every URL already resolved against the URL the
//! document came from (relative URLs are Twilio's habit) and every attribute Twilio defaults
//! filled in. Pure: no I/O, so the call's logic ([`super::call`]) is tested on strings.
//!
//! Parsing uses `roxmltree` (a read-only DOM; DTDs refused, a node cap). Whatever Twilio would
//! reject — not XML, a root other than `<Response>`, a verb nested where Twilio allows none, an
//! attribute it cannot read — is a [`TwimlError`] naming the element and attribute. A verb
//! Twilio knows but the simulator does not perform (`<Enqueue>`, `<Connect>`, …) is kept as
//! [`Verb::Unsupported`], shown and skipped, so a new verb does not stop a rehearsal.

use url::Url;

/// How Twilio requests a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One instruction of a TwiML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Words spoken; `language` as written (`es-MX`), `None` for Twilio's default.
    Say {
        text: String,
        language: Option<String>,
    },
    /// An audio file played.
    Play {
        url: String,
    },
    /// Silence, in seconds.
    Pause {
        seconds: u32,
    },
    Gather(Gather),
    /// Continue with the TwiML at `url`.
    Redirect {
        url: Url,
        method: Method,
    },
    Dial(Dial),
    Record(Record),
    Hangup,
    /// Refuse the call (`busy` or `rejected`).
    Reject {
        reason: String,
    },
    /// A verb the simulator does not perform; its name.
    Unsupported(String),
}

/// `<Gather>`: keys or speech, then a request to `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    /// Where the input goes; Twilio's default is the document's own URL.
    pub action: Url,
    pub method: Method,
    pub dtmf: bool,
    pub speech: bool,
    /// The key that ends the input (default `#`); `None` when set to the empty string.
    pub finish_on_key: Option<char>,
    /// The input ends by itself after this many keys.
    pub num_digits: Option<u32>,
    /// Seconds of silence Twilio waits (default 5); shown only.
    pub timeout: u32,
    /// Request `action` even when nothing was entered (default: go on to the next verb).
    pub action_on_empty_result: bool,
    /// What is said or played while it listens (`Say`, `Play`, `Pause` only).
    pub prompts: Vec<Verb>,
}

/// `<Dial>`: connect the caller to another party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// What is dialled: numbers as written, or `client:…`, `sip:…`, `queue:…`, `conference:…`.
    pub targets: Vec<String>,
    /// Requested when the dialled call ends; without it the document goes on.
    pub action: Option<Url>,
    pub method: Method,
    /// Seconds it rings (default 30); shown only.
    pub timeout: u32,
}

/// `<Record>`: a message left by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the recording goes; Twilio's default is the document's own URL.
    pub action: Url,
    pub method: Method,
    /// Longest recording in seconds (default 3600).
    pub max_length: u32,
    pub play_beep: bool,
    /// Told when the recording file is ready.
    pub recording_status_callback: Option<Url>,
    pub recording_status_callback_method: Method,
    /// Told the transcription (setting it implies `transcribe`).
    pub transcribe_callback: Option<Url>,
}

/// Why a document is not TwiML Twilio would follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    #[error("not XML: {0}")]
    NotXml(String),
    #[error("the root element is <{0}>, not <Response>")]
    NotResponse(String),
    #[error("<{verb}> cannot contain <{child}>")]
    BadNesting { verb: String, child: String },
    #[error("<{verb} {attribute}=\"{value}\">: {reason}")]
    BadAttribute {
        verb: String,
        attribute: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("<{verb}> has an empty {what}")]
    Empty { verb: String, what: &'static str },
}

/// At most this many XML nodes are read; a voice answer has a few dozen.
const NODES_LIMIT: u32 = 10_000;

/// The verbs of `document`, fetched from `base` (which relative URLs are resolved against).
pub fn parse(document: &str, base: &Url) -> Result<Vec<Verb>, TwimlError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(document, options)
        .map_err(|e| TwimlError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(TwimlError::NotResponse(root.tag_name().name().to_string()));
    }
    root.children()
        .filter(roxmltree::Node::is_element)
        .map(|node| verb(node, base))
        .collect()
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

/// The texts a messaging answer (`<Response><Message>…`) sends back, in order: each
/// `<Message>`'s `<Body>`, or its own text. An empty `<Response/>` sends none.
pub fn messages(document: &str) -> Result<Vec<String>, TwimlError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(document, options)
        .map_err(|e| TwimlError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(TwimlError::NotResponse(root.tag_name().name().to_string()));
    }
    Ok(root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "Message")
        .map(|m| {
            match m
                .children()
                .find(|c| c.is_element() && c.tag_name().name() == "Body")
            {
                Some(body) => text_of(body),
                None => text_of(m),
            }
        })
        .collect())
}

fn verb(node: Node<'_, '_>, base: &Url) -> Result<Verb, TwimlError> {
    let r = Reader { node, base };
    Ok(match r.name() {
        "Say" => Verb::Say {
            text: spoken_text(node),
            language: node.attribute("language").map(str::to_string),
        },
        "Play" => Verb::Play {
            url: text_of(node).trim().to_string(),
        },
        "Pause" => Verb::Pause {
            seconds: r.number("length")?.unwrap_or(1),
        },
        "Gather" => Verb::Gather(r.gather()?),
        "Redirect" => {
            let target = text_of(node);
            if target.trim().is_empty() {
                return Err(TwimlError::Empty {
                    verb: "Redirect".into(),
                    what: "URL",
                });
            }
            Verb::Redirect {
                url: r.resolve("(text)", target.trim())?,
                method: r.method("method")?,
            }
        }
        "Dial" => Verb::Dial(r.dial()?),
        "Record" => Verb::Record(r.record()?),
        "Hangup" => Verb::Hangup,
        "Reject" => Verb::Reject {
            reason: node.attribute("reason").unwrap_or("rejected").to_string(),
        },
        other => Verb::Unsupported(other.to_string()),
    })
}

/// Reads one element's attributes the way Twilio does.
struct Reader<'a, 'i, 'b> {
    node: Node<'a, 'i>,
    base: &'b Url,
}

impl Reader<'_, '_, '_> {
    fn name(&self) -> &str {
        self.node.tag_name().name()
    }

    fn bad(&self, attribute: &'static str, value: &str, reason: &'static str) -> TwimlError {
        TwimlError::BadAttribute {
            verb: self.name().to_string(),
            attribute,
            value: value.to_string(),
            reason,
        }
    }

    fn method(&self, attribute: &'static str) -> Result<Method, TwimlError> {
        match self.node.attribute(attribute).map(str::trim) {
            None => Ok(Method::Post),
            Some(m) if m.eq_ignore_ascii_case("POST") => Ok(Method::Post),
            Some(m) if m.eq_ignore_ascii_case("GET") => Ok(Method::Get),
            Some(m) => Err(self.bad(attribute, m, "Twilio requests with GET or POST only")),
        }
    }

    fn number(&self, attribute: &'static str) -> Result<Option<u32>, TwimlError> {
        self.node
            .attribute(attribute)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| self.bad(attribute, v, "not a whole number"))
            })
            .transpose()
    }

    fn flag(&self, attribute: &'static str) -> Result<Option<bool>, TwimlError> {
        self.node
            .attribute(attribute)
            .map(|v| match v.trim() {
                t if t.eq_ignore_ascii_case("true") => Ok(true),
                t if t.eq_ignore_ascii_case("false") => Ok(false),
                _ => Err(self.bad(attribute, v, "not true or false")),
            })
            .transpose()
    }

    fn resolve(&self, attribute: &'static str, target: &str) -> Result<Url, TwimlError> {
        self.base
            .join(target)
            .map_err(|_| self.bad(attribute, target, "not a URL"))
    }

    /// The URL in `attribute`, resolved; `None` when absent or blank.
    fn url(&self, attribute: &'static str) -> Result<Option<Url>, TwimlError> {
        match self.node.attribute(attribute).map(str::trim) {
            None | Some("") => Ok(None),
            Some(target) => self.resolve(attribute, target).map(Some),
        }
    }

    fn gather(&self) -> Result<Gather, TwimlError> {
        let input = self.node.attribute("input").unwrap_or("dtmf");
        let words: Vec<&str> = input.split_whitespace().collect();
        if words.is_empty() || words.iter().any(|w| !matches!(*w, "dtmf" | "speech")) {
            return Err(self.bad("input", input, "must be dtmf, speech or both"));
        }
        let finish_on_key = match self.node.attribute("finishOnKey") {
            None => Some('#'),
            Some("") => None,
            Some(k) => {
                let mut chars = k.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if is_key(c) => Some(c),
                    _ => return Err(self.bad("finishOnKey", k, "must be one key: 0-9, * or #")),
                }
            }
        };
        let num_digits = self.number("numDigits")?;
        if num_digits == Some(0) {
            return Err(self.bad("numDigits", "0", "must be at least 1"));
        }
        let mut prompts = Vec::new();
        for child in self.node.children().filter(roxmltree::Node::is_element) {
            match child.tag_name().name() {
                "Say" | "Play" | "Pause" => prompts.push(verb(child, self.base)?),
                other => {
                    return Err(TwimlError::BadNesting {
                        verb: "Gather".into(),
                        child: other.into(),
                    });
                }
            }
        }
        Ok(Gather {
            action: self.url("action")?.unwrap_or_else(|| self.base.clone()),
            method: self.method("method")?,
            dtmf: words.contains(&"dtmf"),
            speech: words.contains(&"speech"),
            finish_on_key,
            num_digits,
            timeout: self.number("timeout")?.unwrap_or(5),
            action_on_empty_result: self.flag("actionOnEmptyResult")?.unwrap_or(false),
            prompts,
        })
    }

    fn dial(&self) -> Result<Dial, TwimlError> {
        let mut targets = Vec::new();
        for child in self.node.children() {
            if child.is_text() {
                let t = child.text().unwrap_or_default().trim();
                if !t.is_empty() {
                    targets.push(t.to_string());
                }
                continue;
            }
            if !child.is_element() {
                continue;
            }
            let what = text_of(child).trim().to_string();
            match child.tag_name().name() {
                "Number" => targets.push(what),
                noun @ ("Client" | "Sip" | "Queue" | "Conference" | "Application") => {
                    targets.push(format!("{}:{what}", noun.to_ascii_lowercase()));
                }
                other => {
                    return Err(TwimlError::BadNesting {
                        verb: "Dial".into(),
                        child: other.into(),
                    });
                }
            }
        }
        if targets.iter().all(String::is_empty) {
            return Err(TwimlError::Empty {
                verb: "Dial".into(),
                what: "number",
            });
        }
        Ok(Dial {
            targets,
            action: self.url("action")?,
            method: self.method("method")?,
            timeout: self.number("timeout")?.unwrap_or(30),
        })
    }

    fn record(&self) -> Result<Record, TwimlError> {
        let transcribe_callback = self.url("transcribeCallback")?;
        Ok(Record {
            action: self.url("action")?.unwrap_or_else(|| self.base.clone()),
            method: self.method("method")?,
            max_length: self.number("maxLength")?.unwrap_or(3600),
            play_beep: self.flag("playBeep")?.unwrap_or(true),
            recording_status_callback: self.url("recordingStatusCallback")?,
            recording_status_callback_method: self.method("recordingStatusCallbackMethod")?,
            transcribe_callback,
        })
    }
}

/// A key on a phone's keypad.
pub fn is_key(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// All the text inside `node`, as written.
fn text_of(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

/// What a `<Say>` speaks: its text, SSML included (`<sub alias>` speaks the alias, `<break>`
/// is a space), with runs of white space made one.
fn spoken_text(node: Node<'_, '_>) -> String {
    fn walk(node: Node<'_, '_>, out: &mut String) {
        for child in node.children() {
            if child.is_text() {
                out.push_str(child.text().unwrap_or_default());
            } else if child.is_element() {
                match (child.tag_name().name(), child.attribute("alias")) {
                    ("sub", Some(alias)) => out.push_str(alias),
                    ("break", _) => out.push(' '),
                    _ => walk(child, out),
                }
            }
        }
    }
    let mut raw = String::new();
    walk(node, &mut raw);
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "twiml_tests.rs"]
mod tests;
