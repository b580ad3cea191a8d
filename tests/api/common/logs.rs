//! Captures the log lines of one test (debug level) so it can grep them for secrets.
//!
//! Each test has a sink of its own: a tracing subscriber set as the default of the test's
//! thread. `#[tokio::test]` runs a current-thread runtime on that thread, so every task of an
//! app the test spawns (the server's connections, the outbox worker, the pruner) logs there
//! too, and a leak is blamed on the test whose app made it, never on whichever test looks
//! next. On a multi-thread runtime (the race tests) spawned tasks would log elsewhere, so
//! [`captured`] refuses to answer there rather than answer with a partial log.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::Dispatch;
use tracing::dispatcher::DefaultGuard;

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Capture {
    sink: Sink,
    dispatch: Dispatch,
    _guard: DefaultGuard,
}

thread_local! {
    static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
    static PARTIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This test's apps run on several threads: their logs cannot all be captured here.
pub fn not_capturable() {
    PARTIAL.with(|p| p.set(true));
}

/// Starts capturing this test's logs (once per test thread) and returns the subscriber, for
/// futures that may be polled elsewhere.
///
/// tracing caches, per log line of the code, whether anyone is interested, process-wide, and
/// works it out on the thread that reaches the line first: a thread with no subscriber (a
/// test without capture, a multi-thread runtime's worker) would mark it "never" for every
/// thread, and a test's captured log would silently miss that line. So an inert global
/// default (a bare registry, interested in everything, writing nothing) stands behind every
/// thread, and the cache is rebuilt once this thread's subscriber is in place.
pub fn capture() -> Dispatch {
    static INERT_DEFAULT: std::sync::Once = std::sync::Once::new();
    INERT_DEFAULT.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
    CAPTURE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(cap) = c.as_ref() {
            return cap.dispatch.clone();
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let dispatch = Dispatch::new(subscriber);
        let guard = tracing::dispatcher::set_default(&dispatch);
        tracing::callsite::rebuild_interest_cache();
        *c = Some(Capture {
            sink,
            dispatch: dispatch.clone(),
            _guard: guard,
        });
        dispatch
    })
}

/// Everything this test's apps have logged so far.
pub fn captured() -> String {
    assert!(
        !PARTIAL.with(std::cell::Cell::get),
        "this test runs its app on several threads: its logs are not all captured here; grep \
         logs only in a #[tokio::test] on the current thread"
    );
    CAPTURE.with(|c| {
        c.borrow()
            .as_ref()
            .map(|cap| String::from_utf8_lossy(&cap.sink.0.lock().expect("lock")).into_owned())
            .unwrap_or_default()
    })
}
