//! `helpline flows check`, `helpline flows graph` and the flow check at start-up, through the
//! real binary: the shipped flows pass, a bad flow gets one line per problem naming file and
//! state and a non-zero exit, and `serve` refuses to start with it.

use std::path::{Path, PathBuf};

use crate::common::{helpline, run};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn flow_problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("helpline: flow problem: "))
        .collect()
}

/// A copy of the shipped flows in `dir`/flows with each (from, to) replacement applied.
fn flows_with(dir: &Path, voice: &[(&str, &str)], sms: &[(&str, &str)]) -> PathBuf {
    let flows = dir.join("flows");
    std::fs::create_dir_all(&flows).expect("mkdir");
    for (file, edits) in [("voice.toml", voice), ("sms.toml", sms)] {
        let mut text = std::fs::read_to_string(repo().join("flows").join(file)).expect("read");
        for (from, to) in edits {
            assert!(text.contains(from), "{file} has no «{from}»");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(flows.join(file), text).expect("write");
    }
    flows
}

/// Four mistakes in the voice flow, one in the SMS flow.
fn bad_flows(dir: &Path) -> PathBuf {
    flows_with(
        dir,
        &[
            ("action = \"verify_phone\"", "action = \"verify_phon\""),
            ("prompt = \"voice_goodbye\"", "prompt = \"voice_goodby\""),
            ("min = 10, max = 11", "min = 12, max = 11"),
            (
                "on = { \"1\" = \"read_secret\", exhausted = \"callback_goodbye\" }",
                "on = { \"1\" = \"read_secret\" }",
            ),
        ],
        &[("on = { ok = \"stopped\" }", "on = { ok = \"stoped\" }")],
    )
}

#[test]
fn the_shipped_flows_pass_the_check() {
    let (code, out, err) = run(helpline(repo()).args(["flows", "check"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("flows are good: flows/voice.toml: ")
            && out.contains("from directory flows"),
        "{out}"
    );
    assert!(flow_problems(&err).is_empty(), "{err}");
}

#[test]
fn without_a_flows_directory_the_built_in_copies_are_checked() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, out, err) = run(helpline(dir.path()).args(["flows", "check"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from the copies built into helpline"), "{out}");
}

#[test]
fn a_bad_flow_gets_one_line_per_problem_naming_file_and_state() {
    let dir = tempfile::tempdir().expect("dir");
    let flows = bad_flows(dir.path());
    let (code, out, err) = run(helpline(dir.path())
        .env("HELPLINE_FLOWS_DIR", &flows)
        .args(["flows", "check"]));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    let voice = flows.join("voice.toml").display().to_string();
    let sms = flows.join("sms.toml").display().to_string();
    let expected = [
        format!("{voice}: state 'ask_phone': unknown action 'verify_phon'"),
        format!("{voice}: state 'ask_phone': digits min 12 is more than max 11"),
        format!("{voice}: state 'callback_intro': missing outcome 'exhausted'"),
        format!("{voice}: state 'goodbye': unknown prompt 'voice_goodby'"),
        format!("{sms}: state 'stop': outcome 'ok' leads to state 'stoped', which does not exist"),
        format!("{sms}: state 'stopped': unreachable: no entry leads here"),
    ];
    let lines = flow_problems(&err);
    assert_eq!(lines.len(), expected.len(), "{err}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(&format!("helpline: flow problem: {want}")),
            "«{line}» is not «{want}…»\n{err}"
        );
    }
    // `--dir` says the same, and a directory named but missing is one problem.
    let (code, _, again) = run(helpline(dir.path())
        .args(["flows", "check", "--dir"])
        .arg(&flows));
    assert_eq!((code, flow_problems(&again)), (2, lines.clone()));
    let (code, _, err) = run(helpline(dir.path()).args(["flows", "check", "--dir", "nowhere"]));
    assert_eq!(code, 2);
    assert_eq!(
        flow_problems(&err),
        vec!["helpline: flow problem: nowhere: the flows directory does not exist"]
    );
}

#[test]
fn a_city_rewords_a_prompt_beside_its_flows_and_typos_are_caught() {
    let dir = tempfile::tempdir().expect("dir");
    let flows = flows_with(dir.path(), &[], &[]);
    std::fs::create_dir(flows.join("prompts")).expect("mkdir");
    std::fs::write(
        flows.join("prompts/es.toml"),
        "voice_goodbye = \"Gracias por llamar a {city}. Hasta luego.\"\n",
    )
    .expect("write");
    let (code, out, err) = run(helpline(dir.path()).args(["flows", "check"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("words overridden by flows/prompts/es.toml"),
        "{out}"
    );

    std::fs::write(flows.join("prompts/en.toml"), "voice_godbye = \"Bye.\"\n").expect("write");
    let (code, _, err) = run(helpline(dir.path()).args(["flows", "check"]));
    assert_eq!(code, 2);
    assert_eq!(
        flow_problems(&err),
        vec![
            "helpline: flow problem: flows/prompts/en.toml: 'voice_godbye' is not a voice_ or \
             sms_ key of the catalogue"
        ]
    );
}

#[test]
fn the_graph_comes_as_mermaid_or_dot() {
    let (code, mermaid, err) = run(helpline(repo()).args(["flows", "graph"]));
    assert_eq!(code, 0, "{err}");
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert!(mermaid.contains("subgraph voice") && mermaid.contains("subgraph sms"));
    assert!(mermaid.contains("choose_delivery"), "{mermaid}");

    let (code, dot, err) = run(helpline(repo()).args(["flows", "graph", "--format", "dot"]));
    assert_eq!(code, 0, "{err}");
    assert!(dot.starts_with("digraph flows {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    assert!(
        dot.contains("-> ") && dot.contains("cluster_voice"),
        "{dot}"
    );

    let (code, sms, _) =
        run(helpline(repo()).args(["flows", "graph", "--format", "mermaid", "sms"]));
    assert_eq!(code, 0);
    assert!(
        sms.contains("subgraph sms") && !sms.contains("subgraph voice"),
        "{sms}"
    );

    let dir = tempfile::tempdir().expect("dir");
    let flows = bad_flows(dir.path());
    let (code, out, err) = run(helpline(dir.path())
        .args(["flows", "graph", "--dir"])
        .arg(&flows));
    assert_eq!(code, 2, "a bad flow is not drawn");
    assert!(out.is_empty() && !flow_problems(&err).is_empty(), "{err}");
}

#[test]
fn serve_refuses_to_start_with_a_bad_flow() {
    let dir = tempfile::tempdir().expect("dir");
    let flows = bad_flows(dir.path());
    let (code, _, err) = run(helpline(dir.path())
        .env("HELPLINE_FLOWS_DIR", &flows)
        .env("HELPLINE_SMTP_URL", "smtp://127.0.0.1:2525")
        .env("HELPLINE_BIND", "127.0.0.1:0")
        .arg("serve"));
    assert_eq!(code, 2, "{err}");
    assert_eq!(flow_problems(&err).len(), 6, "{err}");
    assert!(!err.contains("helpline listening"), "{err}");
    assert!(
        !dir.path().join("helpline.db").exists(),
        "flows are checked before the database is touched"
    );

    let (code, _, err) = run(helpline(dir.path())
        .env("HELPLINE_FLOWS_DIR", dir.path().join("missing"))
        .env("HELPLINE_SMTP_URL", "smtp://127.0.0.1:2525")
        .arg("serve"));
    assert_eq!(code, 2, "{err}");
    assert!(
        flow_problems(&err)
            .iter()
            .any(|l| l.ends_with("missing: the flows directory does not exist")),
        "{err}"
    );
}
