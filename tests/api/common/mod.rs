//! Test scaffolding: a fresh database per test (SQLite by default, PostgreSQL when
//! `HELPLINE_TEST_DATABASE_URL` names a server), the app on `127.0.0.1:0`, a real SMTP server
//! on loopback, and the `helpline` binary.
//!
//! The first database a test process opens is announced on stderr ("helpline tests: database
//! = sqlite|postgres"), past libtest's output capture, so every run says what it ran on. With
//! `HELPLINE_TEST_REQUIRE_POSTGRES=1` (set by `.ci/run` for its PostgreSQL run) a missing or
//! non-PostgreSQL `HELPLINE_TEST_DATABASE_URL` fails every test that needs a database instead
//! of quietly falling back to SQLite.

#![allow(dead_code)]

pub mod browser;
pub mod desk;
pub mod logs;
pub mod outbox;
pub mod smtp;
pub mod twilio;
pub mod webhooks;

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use helpline::app::{AppState, Application, Overrides};
use helpline::clock::{ManualClock, SharedClock};
use helpline::config::Settings;
use helpline::store::Store;
use sqlx::{AssertSqlSafe, Connection, Executor};
use tempfile::TempDir;
use tracing::Dispatch;
use tracing::instrument::WithSubscriber;

/// 2026-01-05 09:00:00 UTC: tests start their clocks here.
pub const T0: i64 = 1_767_603_600_000;

/// The server the suite runs on when set (an admin URL: each test creates its own database).
pub const DATABASE_URL_VAR: &str = "HELPLINE_TEST_DATABASE_URL";
/// When `1`, the suite refuses to run on anything but PostgreSQL.
pub const REQUIRE_POSTGRES_VAR: &str = "HELPLINE_TEST_REQUIRE_POSTGRES";

/// The database URL the suite was asked to use, if any.
pub fn asked_database_url() -> Option<String> {
    std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// True when the run must be on PostgreSQL (`HELPLINE_TEST_REQUIRE_POSTGRES=1`).
pub fn postgres_required() -> bool {
    std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v.trim() == "1")
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` without its password, for printing.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(None);
            }
            u.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// Says once per test process which database the tests run on. Written to the real stderr:
/// libtest captures `eprintln!` of passing tests.
fn announce(line: impl FnOnce() -> String) {
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| {
        let _ = writeln!(std::io::stderr().lock(), "{}", line());
    });
}

/// A database of its own for one test; dropped (PostgreSQL) or deleted (SQLite) afterwards.
pub struct TestDb {
    url: String,
    dir: TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let asked = asked_database_url();
        if postgres_required() && !asked.as_deref().is_some_and(is_postgres_url) {
            panic!(
                "{REQUIRE_POSTGRES_VAR}=1 but {DATABASE_URL_VAR} is {}: this run must be on \
                 PostgreSQL (set {DATABASE_URL_VAR}=postgres://user@host:port/db), not fall \
                 back to SQLite",
                asked
                    .as_deref()
                    .map_or_else(|| "not set".to_string(), without_password)
            );
        }
        match asked {
            Some(admin) => {
                announce(|| {
                    format!(
                        "helpline tests: database = postgres ({})",
                        without_password(&admin)
                    )
                });
                let name = format!("helpline_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::AnyConnection::connect(&admin)
                    .await
                    .expect("HELPLINE_TEST_DATABASE_URL must reach a PostgreSQL server");
                // `name` is made just above from a UUID's hex digits.
                conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("database URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    dir,
                    pg: Some((admin, name)),
                }
            }
            None => {
                announce(|| "helpline tests: database = sqlite (a new file per test)".into());
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb { url, dir, pg: None }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// A scratch folder that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&helpline::config::DatabaseUrl::new(self.url.clone()))
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    pub fn settings(&self) -> Settings {
        Settings::for_local(&self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop cannot await; a short-lived thread with its own runtime cleans up.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                        let _ = conn
                            // `name` is the UUID-made name of this test's database.
                            .execute(AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A clock for tests, at [`T0`].
pub fn test_clock() -> Arc<ManualClock> {
    ManualClock::starting_at(T0)
}

/// The per-source limiter (and the per-number limit on texts) of a test app unless the test
/// sets it: tests send many requests from 127.0.0.1 and many texts from one phone, and only
/// tests of a limiter itself may be refused by it.
pub const LIMITER_OUT_OF_THE_WAY: u32 = 10_000;

/// The app on a random loopback port, served in the background. Unless the test set the
/// per-source limiter itself, dropping the app fails the test if the limiter refused anything:
/// a refusal must come from the rule under test.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    limiter_under_test: bool,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        // Per-test log capture relies on every task of the app running on the test's thread;
        // a test on several threads (a race) may not read the logs.
        if tokio::runtime::Handle::current().runtime_flavor()
            != tokio::runtime::RuntimeFlavor::CurrentThread
        {
            logs::not_capturable();
        }
        let logs = logs::capture();
        let db = TestDb::new().await;
        let mut settings = db.settings();
        settings.mail.dir = Some(db.dir().join("mail"));
        settings.guard.per_source_burst = LIMITER_OUT_OF_THE_WAY;
        settings.guard.per_source_per_minute = LIMITER_OUT_OF_THE_WAY;
        settings.guard.texts_per_number_burst = LIMITER_OUT_OF_THE_WAY;
        settings.guard.texts_per_number_per_hour = LIMITER_OUT_OF_THE_WAY;
        adjust(&mut settings);
        let limiter_under_test = settings.guard.per_source_burst < LIMITER_OUT_OF_THE_WAY
            || settings.guard.per_source_per_minute < LIMITER_OUT_OF_THE_WAY
            || settings.guard.texts_per_number_burst < LIMITER_OUT_OF_THE_WAY
            || settings.guard.texts_per_number_per_hour < LIMITER_OUT_OF_THE_WAY;
        let clock = test_clock();
        let running = Served::start(settings, &clock, logs).await;
        TestApp {
            base: running.base,
            state: running.state,
            clock,
            db,
            stop: Some(running.stop),
            served: Some(running.served),
            limiter_under_test,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the app and starts it again on the same database, settings and clock, on a new
    /// port: what a restart (or another instance behind the load balancer) sees.
    pub async fn restart(&mut self) {
        self.shutdown().await.expect("the first instance stops");
        let settings = (*self.state.settings).clone();
        let running = Served::start(settings, &self.clock, logs::capture()).await;
        self.base = running.base;
        self.state = running.state;
        self.stop = Some(running.stop);
        self.served = Some(running.served);
    }

    /// Asks the app to stop and waits until it has.
    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.served.take() {
            Some(h) => tokio::time::timeout(Duration::from_secs(30), h)
                .await
                .expect("app stops within 30 s")
                .expect("serve task"),
            None => Ok(()),
        }
    }
}

/// An app built from `settings` on `clock` and served in the background on a loopback port.
struct Served {
    base: String,
    state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn start(settings: Settings, clock: &Arc<ManualClock>, logs: Dispatch) -> Served {
        let shared: SharedClock = clock.clone();
        let app = Application::build(
            settings,
            Overrides {
                clock: Some(shared),
                email: None,
                sms: None,
            },
        )
        .await
        .expect("app builds");
        let base = format!("http://{}", app.local_addr().expect("bound"));
        let state = app.state().clone();
        let (stop, rx) = tokio::sync::oneshot::channel();
        let served = tokio::spawn(
            app.run_until(async {
                let _ = rx.await;
            })
            .with_subscriber(logs),
        );
        Served {
            base,
            state,
            stop,
            served,
        }
    }
}

impl Drop for TestApp {
    /// A test that ends (or panics) without `shutdown` still stops the server and the worker;
    /// and a test not about the per-source limiter fails if the limiter refused anything.
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.served.take() {
            h.abort();
        }
        let refused = self.state.metrics.throttled.get() + self.state.metrics.texts_throttled.get();
        if refused > 0 && !self.limiter_under_test && !std::thread::panicking() {
            panic!(
                "the per-source limiter refused {refused} request(s) in a test that is not \
                 about it (texts included): a refusal must come from the rule under test"
            );
        }
    }
}

/// The `helpline` binary with a clean environment (no HELPLINE_* from the caller) in `cwd`.
pub fn helpline(cwd: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .current_dir(cwd)
        .stdin(Stdio::null());
    cmd
}

/// How long any child process of a test may run before the test gives up on it.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// Runs a command to completion (within [`CHILD_LIMIT`]), returning (status code, stdout,
/// stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let child = Running::spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()));
    child.output()
}

/// Runs a command with `input` on its standard input (within [`CHILD_LIMIT`]).
pub fn run_with_input(cmd: &mut Command, input: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Running::spawn(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdin = child.child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.output()
}

/// A child process of a test: killed and reaped when dropped, so a failing test never leaves
/// it running, and waited on only within a time limit.
pub struct Running {
    pub child: Child,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        Running {
            child: cmd.spawn().expect("spawn helpline"),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as a service manager does to stop the service.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Reads its piped output to the end and waits for it (within [`CHILD_LIMIT`]).
    fn output(mut self) -> (i32, String, String) {
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let out = read(
            self.child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = read(
            self.child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let status = self.wait(CHILD_LIMIT);
        (
            status.code().unwrap_or(-1),
            out.join().expect("stdout reader"),
            err.join().expect("stderr reader"),
        )
    }

    /// Waits for the process to exit without blocking the test's runtime (servers the test
    /// runs, such as an SMTP sink, keep answering); panics (and the drop kills it) after
    /// `limit`.
    pub async fn exited(&mut self, limit: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the process did not exit within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends each line of a piped output to the returned channel, from a thread of its own.
    pub fn lines(&mut self, stderr: bool) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        use std::io::BufRead;
        let pipe: Box<dyn Read + Send> = if stderr {
            Box::new(self.child.stderr.take().expect("piped stderr"))
        } else {
            Box::new(self.child.stdout.take().expect("piped stdout"))
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// Waits for the process to exit; panics (and the drop kills it) after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `lines` until one satisfies `want` (returning it), within `limit`; every line read
/// is appended to `log`.
pub async fn line_where(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    log: &mut String,
    limit: Duration,
    want: impl Fn(&str) -> bool,
) -> String {
    tokio::time::timeout(limit, async {
        while let Some(line) = lines.recv().await {
            log.push_str(&line);
            log.push('\n');
            if want(&line) {
                return line;
            }
        }
        panic!("the output ended without the line looked for:\n{log}");
    })
    .await
    .unwrap_or_else(|_| panic!("no such line within {limit:?}:\n{log}"))
}

/// Every value of every table, each cast to text: what someone who can read the database
/// sees.
pub async fn every_stored_value(store: &Store, postgres: bool) -> Vec<(String, String, String)> {
    let pool = store.pool();
    let columns: Vec<(String, String)> = if postgres {
        sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        )
        .fetch_all(pool)
        .await
        .expect("columns")
    } else {
        sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' ORDER BY m.name, p.cid",
        )
        .fetch_all(pool)
        .await
        .expect("columns")
    };
    assert!(columns.len() > 20, "the schema was read: {columns:?}");
    let mut values = Vec::new();
    for (table, column) in columns {
        let text = if postgres {
            format!("CAST(\"{column}\" AS TEXT)")
        } else {
            format!(
                "CASE WHEN typeof(\"{column}\") = 'blob' THEN hex(\"{column}\") \
                 ELSE CAST(\"{column}\" AS TEXT) END"
            )
        };
        let rows: Vec<Option<String>> =
            // Table and column names come from the database's own catalogue, quoted.
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT {text} FROM \"{table}\"")))
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("read {table}.{column}: {e}"));
        for v in rows.into_iter().flatten() {
            values.push((table.clone(), column.clone(), v));
        }
    }
    values
}

/// An HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Posts `fields` (with `csrf`) to `path` carrying the browser's cookies and, when given, an
/// `X-Forwarded-For` header: a client behind a proxy. Follows nothing; the browser keeps no
/// cookie from the answer.
pub async fn post_forwarded(
    base: &str,
    b: &browser::Browser,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
    forwarded_for: Option<&str>,
) -> browser::Page {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    let cookies = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut req = http()
        .post(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, cookies)
        .form(&form);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("body");
    browser::Page {
        status,
        headers,
        body,
    }
}

/// The value of an unlabelled counter or gauge (`helpline_throttled_total`, …) on /metrics.
pub async fn metric(base: &str, name: &str) -> f64 {
    let text = http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} is not on /metrics:\n{text}"))
}

/// A refusal page with what may differ between two refusals put aside: the username typed
/// (the page keeps it in its field) and the browser's own form token.
pub fn same_page_but_typed(page: &browser::Page, user: &str) -> String {
    let body = page
        .body
        .replace(&format!("value=\"{user}\""), "value=\"(typed)\"");
    match browser::csrf_in(&body) {
        Some(token) => body.replace(&token, "(token)"),
        None => body,
    }
}
