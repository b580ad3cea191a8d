//! Operations: health, readiness, metrics, request ids, graceful shutdown, and logs that never
//! carry a secret — over real HTTP, and through the real `serve` process.

use std::process::Stdio;
use std::time::Duration;

use helpline::clock::Clock;
use helpline::domain::ids::MessageId;
use helpline::store::Store;
use helpline::store::outbox as queue;
use sqlx::Executor;

use crate::common::outbox::queue_reset_link;
use crate::common::smtp::{Mode, SmtpSink};
use crate::common::{CHILD_LIMIT, Running, TestApp, TestDb, helpline, http, line_where, logs, run};

const TOKEN: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const RECIPIENT: &str = "pat@frontrange-roofing.example";

async fn queue_reset(store: &Store, now: i64) -> MessageId {
    let link = format!("https://help.example.gov/reset/{TOKEN}");
    queue_reset_link(store, RECIPIENT, &link, now).await
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let mut app = TestApp::spawn().await;
    let client = http();
    let health = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let id = health
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id is assigned");
    assert_eq!(id.len(), 36, "{id}");

    let ready = client
        .get(app.url("/readyz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-me-123"),
        "a caller's id is kept"
    );
    // The request's log lines are this test's own: captured per test, with the id.
    let logs = logs::captured();
    assert!(
        logs.lines()
            .any(|l| l.contains("request_id=trace-me-123") && l.contains("/readyz")),
        "{logs}"
    );

    let missing = client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    assert!(
        missing
            .text()
            .await
            .expect("body")
            .contains("<h1>Page not found</h1>"),
        "the portal's own 404 page"
    );

    // Readiness notices a migration that is not applied.
    app.state
        .store
        .pool()
        .execute("DELETE FROM _sqlx_migrations")
        .await
        .expect("forget migrations");
    let ready = client.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.expect("body").contains("migrations"));
    app.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn metrics_count_requests_and_outbox_depth() {
    let mut app = TestApp::spawn().await;
    let client = http();
    for _ in 0..3 {
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("healthz");
    }
    queue_reset(&app.state.store, app.clock.now_ms() + 10 * 60_000).await;
    let body = client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        body.contains(
            r#"helpline_http_requests_total{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{body}"
    );
    // The message was queued "in the future" of the injected clock, so it is still waiting.
    assert!(body.contains("helpline_outbox_depth 1"), "{body}");
    assert!(body.contains("helpline_lockouts_total 0"), "{body}");
    assert!(
        body.contains("# TYPE helpline_outbox_deliveries counter"),
        "{body}"
    );
    app.shutdown().await.expect("clean stop");
}

/// A wait imposed on an account is counted once, when it starts: not for the failures before
/// it, nor for the ones refused during it.
#[tokio::test]
async fn the_lockout_metric_counts_each_wait_once() {
    let p = crate::portal::Portal::start().await;
    p.with_password("C-1001", crate::portal::OLD).await;
    let lockouts = || async {
        let body = http()
            .get(p.app.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        body.lines()
            .find_map(|l| l.strip_prefix("helpline_lockouts_total "))
            .expect("the lockout counter")
            .trim()
            .parse::<u64>()
            .expect("a number")
    };
    let mut b = p.browser();
    for expected in [0, 0, 1] {
        p.app.clock.advance(Duration::from_secs(2));
        crate::portal::login(&mut b, "C-1001", "Wrong-Pa55").await;
        assert_eq!(lockouts().await, expected);
    }
    // Refused during the wait: not counted again.
    for _ in 0..3 {
        p.app.clock.advance(Duration::from_secs(2));
        crate::portal::login(&mut b, "C-1001", "Wrong-Pa55").await;
    }
    assert_eq!(lockouts().await, 1);
    // After the wait, the next failure starts the next wait.
    p.app.clock.advance(Duration::from_secs(61));
    crate::portal::login(&mut b, "C-1001", "Wrong-Pa55").await;
    assert_eq!(lockouts().await, 2);
}

#[tokio::test]
async fn shutdown_lets_the_worker_finish_the_message_it_is_delivering() {
    // The server holds its answer until the test says so: the stop is asked for while the
    // message is certainly in flight.
    let sink = SmtpSink::start(Mode::Hold).await;
    let url = sink.url();
    let mut app = TestApp::spawn_with(move |s| {
        s.mail.dir = None;
        s.mail.smtp_url = Some(url.into());
    })
    .await;
    let id = queue_reset(&app.state.store, app.clock.now_ms()).await;
    app.state.outbox_wake.notify_one();
    tokio::time::timeout(Duration::from_secs(10), sink.data_started())
        .await
        .expect("delivery starts");
    {
        let stopping = app.shutdown();
        tokio::pin!(stopping);
        // Asked to stop, the app waits for the delivery rather than dropping it.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut stopping)
                .await
                .is_err(),
            "the app stopped with a message in flight"
        );
        assert!(sink.received().is_empty(), "still in flight");
        sink.release();
        stopping.await.expect("clean stop");
    }
    let row = queue::by_id(app.state.store.pool(), id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.status, "sent", "the worker finished before stopping");
    assert_eq!(sink.received().len(), 1);
    assert!(
        http().get(app.url("/healthz")).send().await.is_err(),
        "no longer listening"
    );
}

/// The real process: serve, start delivering a reset link, get SIGTERM while the message is
/// in flight, finish it and stop cleanly; the captured logs hold neither the token nor the
/// recipient's address.
#[tokio::test]
async fn serve_finishes_its_delivery_on_sigterm_and_logs_no_secret() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let sink = SmtpSink::start(Mode::Hold).await;
    let now = helpline::clock::SystemClock.now_ms();
    let id = queue_reset(&store, now).await;

    let mut child = Running::spawn(
        helpline(db.dir())
            .env("HELPLINE_DATABASE_URL", db.url())
            .env("HELPLINE_SMTP_URL", sink.url())
            .env("HELPLINE_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "debug")
            .arg("serve")
            .stderr(Stdio::piped())
            .stdout(Stdio::null()),
    );
    let mut lines = child.lines(true);
    let mut log = String::new();
    let limit = Duration::from_secs(30);
    let listening = line_where(&mut lines, &mut log, limit, |l| {
        l.contains("helpline listening")
    })
    .await;
    let addr = listening
        .split("addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("serve reports its address")
        .to_string();
    let ok = http()
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ok.status(), 200);

    // The message is in flight, held by the server, when the stop comes.
    tokio::time::timeout(limit, sink.data_started())
        .await
        .expect("delivery starts");
    child.terminate();
    line_where(&mut lines, &mut log, limit, |l| {
        l.contains("shutting down: finishing requests in flight")
    })
    .await;
    assert!(
        child.child.try_wait().expect("try_wait").is_none(),
        "serve waits for the delivery in flight"
    );
    assert!(sink.received().is_empty());
    sink.release();
    let exit = child.exited(CHILD_LIMIT).await;
    assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}");
    while let Some(line) = lines.recv().await {
        log.push_str(&line);
        log.push('\n');
    }

    assert_eq!(sink.received().len(), 1, "the reset link was delivered");
    let row = queue::by_id(store.pool(), id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.status, "sent", "finished before stopping");
    assert!(log.contains("delivered"), "{log}");
    assert!(
        log.contains("p***@frontrange-roofing.example"),
        "recipient masked:\n{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    assert!(
        log.contains("public_url is not https"),
        "an http public_url is warned about at start-up:\n{log}"
    );
    for secret in [TOKEN, RECIPIENT, "/reset/"] {
        assert!(!log.contains(secret), "«{secret}» reached the logs:\n{log}");
    }
}

/// The README's first command: `helpline demo` serves the sample roster, its printed
/// temporary password signs in and leads to the forced change, and the password it issued is
/// in the audit log like any other.
#[tokio::test]
async fn demo_serves_and_its_printed_login_works() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Running::spawn(
        helpline(dir.path())
            .env("HELPLINE_BIND", "127.0.0.1:0")
            .arg("demo")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let mut lines = child.lines(false);
    let mut out = String::new();
    let limit = Duration::from_secs(60);
    let database = line_where(&mut lines, &mut out, limit, |l| {
        l.trim_start().starts_with("database:")
    })
    .await;
    let database = database
        .split_once("database:")
        .map(|(_, path)| path.trim().to_string())
        .expect("a path");
    let line = line_where(&mut lines, &mut out, limit, |l| {
        l.contains("with the temporary password")
    })
    .await;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL")
        .to_string();
    let temp = line
        .split_whitespace()
        .last()
        .expect("password")
        .to_string();
    let base = url.trim_end_matches("/login").to_string();

    // The staff login and the temporary password are in the audit log, which verifies.
    let (code, verified, err) = run(helpline(dir.path())
        .env("HELPLINE_DATABASE_URL", format!("sqlite://{database}"))
        .args(["audit", "verify"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        verified.contains("audit log intact: 2 events"),
        "{verified}"
    );
    let mut conn =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("sqlite://{database}"))
            .await
            .expect("open the demo database");
    let events: Vec<(String, String, String)> =
        sqlx::query_as("SELECT action, subject, detail FROM audit_events ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .expect("events");
    assert_eq!(
        events
            .iter()
            .map(|(a, s, _)| (a.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("staff_added", "staff:staff@demo.example"),
            ("temporary_password_issued", "contractor:C-1001"),
        ]
    );
    assert!(events.iter().all(|(_, _, d)| !d.contains(&temp)));

    let mut b = crate::common::browser::Browser::new(&base);
    let page = b
        .post("/login", &[("username", "C-1001"), ("password", &temp)])
        .await;
    assert_eq!(page.location(), Some("/login/change"), "{}", page.body);

    child.terminate();
    let status = child.exited(CHILD_LIMIT).await;
    assert!(status.success(), "{status:?}");
}

/// The README documents what exists: every `GET /…` or `POST /…` it names is served, or the
/// line that names it says it is coming.
#[tokio::test]
async fn every_route_the_readme_names_is_served_or_marked_coming() {
    let readme = include_str!("../../README.md");
    let app = TestApp::spawn().await;
    let client = http();
    let mut checked = 0;
    let mut coming = Vec::new();
    // A route may be named in one line and said to be coming in the next.
    let lines: Vec<&str> = readme.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        for method in ["GET", "POST"] {
            for (at, _) in line.match_indices(&format!("`{method} /")) {
                let rest = &line[at + method.len() + 2..];
                let path = &rest[..rest.find('`').expect("a closing backtick")];
                if path.contains('{') {
                    continue;
                }
                let url = app.url(path);
                let res = match method {
                    "GET" => client.get(url),
                    _ => client.post(url),
                }
                .send()
                .await
                .expect("request");
                checked += 1;
                let around = lines[n.saturating_sub(1)..(n + 3).min(lines.len())].join(" ");
                if matches!(res.status().as_u16(), 404 | 405) {
                    coming.push(path.to_string());
                    assert!(
                        around.contains("coming") && around.contains("not served yet"),
                        "the README names {method} {path}, which is not served (line {}): {line}",
                        n + 1
                    );
                }
            }
        }
    }
    assert!(checked >= 5, "the README's routes were found: {checked}");
    for served in [
        "/twilio/sms/status",
        "/twilio/voice/status",
        "/email/inbound",
        "/email/inbound/mailgun",
        "/email/inbound/sendgrid",
        "/email/inbound/postmark",
    ] {
        assert!(
            !coming.iter().any(|c| c == served),
            "{served} is served now: {coming:?}"
        );
        assert!(
            readme.contains(&format!("`POST {served}`")),
            "{served} is documented"
        );
    }
}
