//! Drawings of flows for people: Mermaid (`flowchart`, renders on GitHub and in most wikis) and
//! Graphviz DOT. One document holds every flow given, each in its own box; entries are small
//! round nodes, states show their prompt and what they wait for or do, end states are rounded,
//! action states are hexagons, edges carry the outcome.

use std::fmt::Write as _;

use super::model::{Flow, Input, State};

/// The drawing formats of `helpline flows graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

/// `flows` drawn in `format`.
pub fn draw(flows: &[&Flow], format: Format) -> String {
    match format {
        Format::Mermaid => mermaid(flows),
        Format::Dot => dot(flows),
    }
}

/// What a state does, for its label: prompt, then the input or action.
fn describe(name: &str, state: &State) -> Vec<String> {
    let mut lines = vec![name.to_string()];
    if let Some(p) = &state.prompt {
        lines.push(format!("say {p}"));
    }
    match &state.input {
        Input::None => {}
        Input::Digits(d) => lines.push(format!("digits {}-{}", d.min, d.max)),
        other => lines.push(format!("wait {}", other.kind_name())),
    }
    if let Some(a) = state.action {
        lines.push(format!("do {a}"));
    }
    if let Some(l) = state.language {
        lines.push(format!("language {}", l.code()));
    }
    if state.end {
        lines.push("end".into());
    }
    lines
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// Node ids by position, so any state name is safe.
fn ids<'f>(prefix: &str, flow: &'f Flow) -> Vec<(&'f String, String)> {
    flow.states
        .keys()
        .enumerate()
        .map(|(i, name)| (name, format!("{prefix}_s{i}")))
        .collect()
}

fn id_of<'a>(ids: &'a [(&String, String)], name: &str) -> Option<&'a str> {
    ids.iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, id)| id.as_str())
}

fn mermaid(flows: &[&Flow]) -> String {
    let mut out = String::from("flowchart TD\n");
    for flow in flows {
        let prefix = flow.kind.as_str();
        let ids = ids(prefix, flow);
        let _ = writeln!(
            out,
            "  subgraph {prefix}[\"{}: {}\"]",
            mermaid_text(&flow.file),
            mermaid_text(&flow.name)
        );
        for (i, (entry, target)) in flow.entries.iter().enumerate() {
            let _ = writeln!(out, "    {prefix}_e{i}((\"{}\"))", mermaid_text(entry));
            if let Some(t) = id_of(&ids, target) {
                let _ = writeln!(out, "    {prefix}_e{i} --> {t}");
            }
        }
        for (name, id) in &ids {
            let state = &flow.states[*name];
            let label = describe(name, state)
                .iter()
                .map(|l| mermaid_text(l))
                .collect::<Vec<_>>()
                .join("<br/>");
            let (open, close) = if state.end {
                ("([", "])")
            } else if state.action.is_some() {
                ("{{", "}}")
            } else {
                ("[", "]")
            };
            let _ = writeln!(out, "    {id}{open}\"{label}\"{close}");
            for (outcome, target) in &state.on {
                if let Some(t) = id_of(&ids, target) {
                    let _ = writeln!(out, "    {id} -->|\"{}\"| {t}", mermaid_text(outcome));
                }
            }
        }
        out.push_str("  end\n");
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(flows: &[&Flow]) -> String {
    let mut out = String::from(
        "digraph flows {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n  \
         edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for flow in flows {
        let prefix = flow.kind.as_str();
        let ids = ids(prefix, flow);
        let _ = writeln!(out, "  subgraph cluster_{prefix} {{");
        let _ = writeln!(
            out,
            "    label=\"{}: {}\";",
            dot_text(&flow.file),
            dot_text(&flow.name)
        );
        for (i, (entry, target)) in flow.entries.iter().enumerate() {
            let _ = writeln!(
                out,
                "    {prefix}_e{i} [shape=circle, label=\"{}\"];",
                dot_text(entry)
            );
            if let Some(t) = id_of(&ids, target) {
                let _ = writeln!(out, "    {prefix}_e{i} -> {t};");
            }
        }
        for (name, id) in &ids {
            let state = &flow.states[*name];
            let label = describe(name, state)
                .iter()
                .map(|l| dot_text(l))
                .collect::<Vec<_>>()
                .join("\\n");
            let shape = if state.end {
                ", shape=box, style=rounded"
            } else if state.action.is_some() {
                ", shape=hexagon"
            } else {
                ""
            };
            let _ = writeln!(out, "    {id} [label=\"{label}\"{shape}];");
            for (outcome, target) in &state.on {
                if let Some(t) = id_of(&ids, target) {
                    let _ = writeln!(out, "    {id} -> {t} [label=\"{}\"];", dot_text(outcome));
                }
            }
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}
