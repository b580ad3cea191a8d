//! Operations: health, readiness, metrics, request ids, graceful shutdown, and logs that never
//! carry a secret — over real HTTP, and through the real `serve` process.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use helpline::clock::Clock;
use helpline::store::Store;
use helpline::store::outbox as queue;
use sqlx::Executor;

use crate::common::outbox::queue_reset_link;
use crate::common::smtp::{Mode, SmtpSink};
use crate::common::{TestApp, TestDb, helpline, http};

const TOKEN: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const RECIPIENT: &str = "pat@frontrange-roofing.example";

async fn queue_reset(store: &Store, now: i64) -> i64 {
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

#[tokio::test]
async fn shutdown_lets_the_worker_finish_the_message_it_is_delivering() {
    let sink = SmtpSink::start(Mode::SlowAccept(Duration::from_millis(700))).await;
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
    app.shutdown().await.expect("clean stop");
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

/// The real process: serve, deliver a reset link, stop on SIGTERM; the captured logs hold
/// neither the token nor the recipient's address.
#[tokio::test]
async fn serve_delivers_stops_on_sigterm_and_logs_no_secret() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let now = helpline::clock::SystemClock.now_ms();
    queue_reset(&store, now).await;

    let mut child = helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .env("HELPLINE_SMTP_URL", sink.url())
        .env("HELPLINE_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "debug")
        .arg("serve")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let sink_log = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("helpline listening")
                && let Some(rest) = line.split("addr=").nth(1)
            {
                let _ = addr_tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
            let mut l = sink_log.lock().expect("lock");
            l.push_str(&line);
            l.push('\n');
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve reports its address");
    let ok = http()
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ok.status(), 200);
    for _ in 0..100 {
        if !sink.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sink.received().len(),
        1,
        "the queued reset link was delivered"
    );

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    reader.join().expect("reader");
    assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}");

    let log = log.lock().expect("lock").clone();
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

/// The README's first command: `helpline demo` serves the sample roster, and its printed
/// temporary password signs in and leads to the forced change.
#[tokio::test]
async fn demo_serves_and_its_printed_login_works() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = helpline(dir.path())
        .env("HELPLINE_BIND", "127.0.0.1:0")
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("with the temporary password") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("demo prints how to sign in");
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

    let mut b = crate::common::browser::Browser::new(&base);
    let page = b
        .post("/login", &[("username", "C-1001"), ("password", &temp)])
        .await;
    assert_eq!(page.location(), Some("/login/change"), "{}", page.body);

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let _ = reader.join();
}
