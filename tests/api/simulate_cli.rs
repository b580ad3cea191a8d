//! `helpline simulate call` through the real binary: against a stand-in voice server on
//! loopback that checks the `X-Twilio-Signature` of every request with the test suite's own
//! signer (so the binary signs as Twilio does, not merely as the app checks) and answers
//! scripted TwiML — a `<Gather>`, a `<Redirect>`, a `<Dial>` with an action, a `<Record>` with
//! its callbacks, a `<Hangup>` — and against the real app's `POST /twilio/voice`.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::common::twilio::AUTH_TOKEN;
use crate::common::webhooks::{twilio_sign, with_webhook_token};
use crate::common::{CHILD_LIMIT, Running, TestApp, helpline, line_where, run, run_with_input};

/// One request the stand-in received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    params: Vec<(String, String)>,
    signed: bool,
}

impl Seen {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
struct StandIn {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// The stand-in's answer to each path: a voice line in miniature.
fn twiml_for(path: &str) -> Option<&'static str> {
    Some(match path {
        "/twilio/voice" => {
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>
                <Gather action="/twilio/voice/menu?step=1" numDigits="1">
                  <Say>Press 1 for English.</Say>
                </Gather>
                <Say>We did not hear you.</Say><Hangup/>
              </Response>"#
        }
        "/twilio/voice/menu?step=1" => {
            "<Response><Say>You chose English.</Say><Redirect>number</Redirect></Response>"
        }
        "/twilio/voice/number" => {
            r#"<Response>
                <Gather action="staff" timeout="3">
                  <Say>Key your contractor number, then press pound.</Say>
                </Gather>
                <Say>Let us try again.</Say>
                <Redirect>/twilio/voice/number</Redirect>
              </Response>"#
        }
        "/twilio/voice/staff" => {
            r#"<Response><Say>Connecting you to staff.</Say>
                <Dial action="/twilio/voice/after-dial" timeout="20"><Number>+13035550199</Number></Dial>
                <Say>Not reached.</Say></Response>"#
        }
        "/twilio/voice/after-dial" => {
            r#"<Response><Say>Nobody is free. Leave a message after the tone.</Say>
                <Record action="/twilio/voice/recorded" maxLength="60"
                        recordingStatusCallback="/twilio/voice/recording"
                        transcribeCallback="/twilio/voice/transcript"/></Response>"#
        }
        "/twilio/voice/recorded" => {
            "<Response><Say>Thank you. Goodbye.</Say><Hangup/><Say>Not said.</Say></Response>"
        }
        "/twilio/voice/recording" | "/twilio/voice/transcript" | "/twilio/voice/status" => "",
        _ => return None,
    })
}

async fn answer(
    State(st): State<StandIn>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = twilio_sign(&format!("{}{path}", st.base), &borrowed, AUTH_TOKEN);
    let signed = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    st.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        params,
        signed,
    });
    if !signed {
        return (
            StatusCode::FORBIDDEN,
            "the X-Twilio-Signature header does not match this request\nsecond line\n",
        )
            .into_response();
    }
    match twiml_for(&path) {
        Some("") => StatusCode::NO_CONTENT.into_response(),
        Some(xml) => ([(header::CONTENT_TYPE, "text/xml")], xml).into_response(),
        None => (StatusCode::NOT_FOUND, "no such step").into_response(),
    }
}

async fn stand_in() -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let st = StandIn {
        base,
        seen: Arc::default(),
    };
    let app = Router::new().fallback(answer).with_state(st.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    st
}

/// `helpline simulate call` with `args`, run to its end off the test's runtime (which keeps
/// serving); (exit code, stdout, stderr).
async fn simulate(args: Vec<String>, input: Option<&str>) -> (i32, String, String) {
    simulate_as("call", args, input).await
}

async fn simulate_as(
    what: &'static str,
    args: Vec<String>,
    input: Option<&str>,
) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("dir");
    let input = input.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = helpline(dir.path());
        cmd.args(["simulate", what]).args(args);
        match input {
            Some(text) => run_with_input(&mut cmd, &text),
            None => run(&mut cmd),
        }
    })
    .await
    .expect("the binary ran")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn paths(seen: &[Seen]) -> Vec<&str> {
    seen.iter().map(|s| s.path.as_str()).collect()
}

#[tokio::test]
async fn a_scripted_call_follows_every_verb_signed_as_twilio_signs() {
    let line = stand_in().await;
    let (code, out, err) = simulate(
        args(&[
            "--from",
            "(303) 658-2075",
            "--to",
            "303.555.0100",
            "--url",
            &line.base,
            "--auth-token",
            AUTH_TOKEN,
            "--stir",
            "TN-Validation-Passed-A",
            "--script",
            "1,,1900862#,please call me back",
        ]),
        None,
    )
    .await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(!err.contains("unused"), "{err}");

    let seen = line.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.signed), "unsigned: {seen:#?}");
    assert_eq!(
        paths(&seen),
        [
            "/twilio/voice",
            "/twilio/voice/menu?step=1",
            "/twilio/voice/number",
            "/twilio/voice/number",
            "/twilio/voice/staff",
            "/twilio/voice/after-dial",
            "/twilio/voice/recorded",
            "/twilio/voice/recording",
            "/twilio/voice/transcript",
            "/twilio/voice/status",
        ]
    );
    let sid = seen[0].param("CallSid").expect("a CallSid").to_string();
    assert!(
        sid.len() == 34 && sid.starts_with("CA") && sid[2..].chars().all(|c| c.is_ascii_hexdigit()),
        "{sid}"
    );
    for s in &seen {
        assert_eq!(s.param("CallSid"), Some(sid.as_str()), "{}", s.path);
        assert!(s.param("AccountSid").is_some_and(|a| a.starts_with("AC")));
    }
    for s in seen.iter().filter(|s| !s.path.ends_with("/recording")) {
        assert_eq!(s.param("From"), Some("+13036582075"), "{}", s.path);
        assert_eq!(s.param("Caller"), Some("+13036582075"));
        assert_eq!(s.param("To"), Some("+13035550100"));
        assert_eq!(s.param("Direction"), Some("inbound"));
        assert_eq!(s.param("ApiVersion"), Some("2010-04-01"));
        assert_eq!(s.param("StirVerstat"), Some("TN-Validation-Passed-A"));
    }
    assert_eq!(seen[0].param("CallStatus"), Some("ringing"));
    assert_eq!(seen[1].param("CallStatus"), Some("in-progress"));
    assert_eq!(seen[1].param("Digits"), Some("1"));
    assert_eq!(seen[2].param("Digits"), None, "a redirect posts no digits");
    assert_eq!(
        seen[4].param("Digits"),
        Some("1900862"),
        "the finish key is not posted"
    );
    assert_eq!(seen[4].param("FinishedOnKey"), Some("#"));
    assert_eq!(seen[5].param("DialCallStatus"), Some("no-answer"));
    let recording = seen[6].param("RecordingUrl").expect("a recording URL");
    let recording_sid = seen[6].param("RecordingSid").expect("a recording sid");
    assert!(recording.ends_with(recording_sid), "{recording}");
    assert!(seen[6].param("RecordingDuration").is_some());
    assert_eq!(seen[7].param("RecordingStatus"), Some("completed"));
    assert_eq!(seen[7].param("RecordingSid"), Some(recording_sid));
    assert_eq!(
        seen[8].param("TranscriptionText"),
        Some("please call me back")
    );
    assert_eq!(seen[9].param("CallStatus"), Some("completed"));
    assert!(
        seen[9]
            .param("CallDuration")
            .is_some_and(|d| d.parse::<u64>().is_ok())
    );

    let says: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("🔊 ")).collect();
    assert_eq!(
        says,
        [
            "Press 1 for English.",
            "You chose English.",
            "Key your contractor number, then press pound.",
            "Let us try again.",
            "Key your contractor number, then press pound.",
            "Connecting you to staff.",
            "Nobody is free. Leave a message after the tone.",
            "Thank you. Goodbye.",
        ],
        "{out}"
    );
    for shown in [
        "📞 +13036582075 calls +13035550100 (CallSid CA",
        "⌨  1\n",
        "⌨  (silence)\n",
        "⌨  1900862#\n",
        "☎  dialing +13035550199… no answer\n",
        "⏺  beep\n",
        "🎙 please call me back\n",
        "📴 the line hangs up after ",
    ] {
        assert!(out.contains(shown), "«{shown}» not in:\n{out}");
    }
}

#[tokio::test]
async fn keys_typed_at_the_terminal_are_checked_and_end_of_input_hangs_up() {
    let line = stand_in().await;
    let (code, out, err) = simulate(
        args(&[
            "--from",
            "+13036582075",
            "--url",
            &format!("{}/", line.base),
            "--auth-token",
            AUTH_TOKEN,
            "--dial-answers",
        ]),
        Some("x\n1\n"),
    )
    .await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("'x' is not a phone key"),
        "a wrong key is refused and asked again:\n{out}"
    );
    assert!(out.contains("📴 you hang up"), "{out}");
    let seen = line.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.signed), "{seen:#?}");
    assert_eq!(
        paths(&seen),
        [
            "/twilio/voice",
            "/twilio/voice/menu?step=1",
            "/twilio/voice/number",
            "/twilio/voice/status"
        ]
    );
    assert_eq!(seen[1].param("Digits"), Some("1"));
    assert_eq!(seen[0].param("StirVerstat"), None, "no --stir, none sent");
    assert_eq!(seen[3].param("CallStatus"), Some("completed"));
}

#[tokio::test]
async fn a_refused_request_ends_the_call_with_one_line() {
    let line = stand_in().await;
    let (code, out, err) = simulate(
        args(&[
            "--from",
            "303-658-2075",
            "--url",
            &line.base,
            "--auth-token",
            "not the server's token",
            "--script",
            "1",
        ]),
        None,
    )
    .await;
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        err,
        format!(
            "helpline: POST {}/twilio/voice answered 403 Forbidden: the X-Twilio-Signature \
             header does not match this request\n",
            line.base
        )
    );
    assert_eq!(paths(&line.seen.lock().unwrap()), ["/twilio/voice"]);
}

#[tokio::test]
async fn a_script_that_runs_out_fails_and_bad_options_are_named() {
    let line = stand_in().await;
    let (code, _, err) = simulate(
        args(&[
            "--from",
            "3036582075",
            "--url",
            &line.base,
            "--auth-token",
            AUTH_TOKEN,
            "--script",
            "1",
            "--no-status-callback",
        ]),
        None,
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err,
        "helpline: the script ran out: a <Gather> asks for answer 2 and the script has 1\n"
    );
    assert!(
        !paths(&line.seen.lock().unwrap()).contains(&"/twilio/voice/status"),
        "--no-status-callback"
    );

    for (flags, reason) in [
        (
            vec!["--from", "555-0100"],
            "helpline: --from '555-0100' has 7 digits; a US number has 10 (or 11 starting with 1)\n",
        ),
        (
            vec!["--from", "3036582075", "--url", "help.example.gov"],
            "helpline: --url 'help.example.gov' is not an http:// or https:// URL\n",
        ),
        (
            vec!["--from", "3036582075"],
            "helpline: no auth token to sign with: pass --auth-token or set \
             HELPLINE_TWILIO_AUTH_TOKEN to the server's\n",
        ),
    ] {
        let (code, _, err) = simulate(args(&flags), None).await;
        assert_eq!((code, err.as_str()), (1, reason));
    }
}

/// The app's own webhook gate accepts what the simulator signs (the URL it signs is the
/// public URL while it sends to the loopback address the app listens on), and refuses it when
/// signed with another token.
#[tokio::test]
async fn the_real_server_accepts_its_signatures() {
    let app = TestApp::spawn_with(with_webhook_token).await;
    let public = app.state.settings.public_url.to_string();
    let call = |token: &str| {
        args(&[
            "--from",
            "303-658-2075",
            "--url",
            &public,
            "--send-to",
            &app.url("/"),
            "--auth-token",
            token,
            // Whatever the line asks first, the caller hangs up.
            "--script",
            "hangup",
        ])
    };
    let (code, out, err) = simulate(call(AUTH_TOKEN), None).await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.lines().any(|l| l.starts_with("🔊 ")),
        "the line speaks:\n{out}"
    );
    assert!(out.contains("📴 "), "{out}");

    let (code, _, err) = simulate(call("another account's token"), None).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with("helpline: POST http://127.0.0.1:")
            && err.ends_with(
                "/twilio/voice answered 403 Forbidden: the X-Twilio-Signature header does not \
                 match this request\n"
            )
            && err.lines().count() == 1,
        "{err}"
    );
}

/// The README's way to try the line: `helpline demo` prints a `simulate call` command line,
/// and that command line (with a script) reaches the demo's phone line.
#[tokio::test]
async fn the_command_the_demo_prints_calls_the_demo() {
    let dir = tempfile::tempdir().expect("dir");
    let mut demo = Running::spawn(
        helpline(dir.path())
            .env("HELPLINE_BIND", "127.0.0.1:0")
            .arg("demo")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let mut lines = demo.lines(false);
    let mut shown = String::new();
    let printed = line_where(&mut lines, &mut shown, Duration::from_secs(60), |l| {
        l.trim_start().starts_with("phone line:")
    })
    .await;
    let command = printed
        .split_once("phone line:")
        .map(|(_, c)| c.trim().to_string())
        .expect("a command");
    let mut words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    assert_eq!(words[..3], ["helpline", "simulate", "call"], "{printed}");
    assert!(words.contains(&"--auth-token".to_string()), "{printed}");
    words.drain(..3);
    // The hang-up's status callback reaches the demo's `/twilio/voice/status` too.
    words.extend(args(&["--script", "hangup"]));
    let (code, out, err) = simulate(words, None).await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.lines().any(|l| l.starts_with("🔊 ")), "{out}");
    demo.terminate();
    let status = demo.exited(CHILD_LIMIT).await;
    assert!(status.success(), "{status:?}");
}

/// `simulate text` against the real app: a RESET from the mobile on record is answered and
/// its password texted (to the Twilio stand-in); texts typed one per line each get a reply.
#[tokio::test]
async fn texts_reach_the_real_server_and_their_replies_are_printed() {
    let p = crate::portal::Portal::start().await;
    let public = p.app.state.settings.public_url.to_string();
    let signed_with = |token: &str, extra: &[&str]| {
        let mut a = args(&[
            "--from",
            "303-658-2075",
            "--url",
            &public,
            "--send-to",
            &p.app.url("/"),
            "--auth-token",
            token,
        ]);
        a.extend(args(extra));
        a
    };
    let line = |extra: &[&str]| signed_with(AUTH_TOKEN, extra);
    let (code, out, err) = simulate_as("text", line(&["RESET 1001"]), None).await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("📱 +13036582075 texts "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("💬 ") && l.contains("temporary password is on its way")),
        "{out}"
    );
    let sent = p.twilio.wait_for(1).await;
    assert_eq!(sent[0].field("To"), Some("+13036582075"));

    let (code, out, err) = simulate_as("text", line(&[]), Some("HELP\nSTOP\nRESET 1001\n")).await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let replies: Vec<&str> = out.lines().filter(|l| l.starts_with("💬 ")).collect();
    assert_eq!(
        replies.len(),
        2,
        "HELP and STOP answered, nothing after STOP:\n{out}"
    );
    assert!(replies[0].contains("Text RESET"), "{out}");
    assert!(replies[1].contains("no more texts"), "{out}");
    assert!(out.contains("(no reply)"), "{out}");

    let (code, _, err) = simulate_as("text", signed_with("wrong", &["HELP"]), None).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/twilio/sms answered 403 Forbidden"), "{err}");
}
