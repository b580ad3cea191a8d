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
pub fn capture() -> Dispatch {
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
