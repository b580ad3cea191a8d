//! The running service: shared state, the router, and start-up and graceful shutdown of the
//! HTTP server, the outbox worker and the daily digest.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{ConfigErrors, Settings};
use crate::domain::keyed::Keys;
use crate::domain::language::Lang;
use crate::flows::{FlowProblems, Flows};
use crate::guard::Guard;
use crate::hashing::Hasher;
use crate::mail::{EmailTransport, FolderTransport, SmtpTransport};
use crate::metrics::{Metrics, RequestLabels, SharedMetrics};
use crate::outbox::Worker;
use crate::recovery::{Recovery, RecoveryService};
use crate::staff::hours::StaffHours;
use crate::store::Store;

/// Everything a handler may use. Cloned per request; every field is a cheap handle.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Settings as loaded and checked at start-up.
    pub settings: Arc<Settings>,
    /// The database: the only state shared between instances.
    pub store: Store,
    /// The time, injected so tests can stand on boundaries.
    pub clock: SharedClock,
    /// Rate limits and lockouts, consulted before any expensive work.
    pub guard: Guard,
    /// Argon2id hashing off the runtime, capped in concurrency.
    pub hasher: Hasher,
    /// Prometheus counters and gauges.
    pub metrics: SharedMetrics,
    /// Wakes the outbox worker after a commit that queued a message.
    pub outbox_wake: Arc<Notify>,
    /// The server's random keys (kept in the store, shared by every instance).
    pub keys: Keys,
    /// The decisions, built from the handles above (not from this state).
    pub recovery: RecoveryService,
    /// The phone line's and the SMS channel's flows and words, checked at start-up.
    pub flows: Arc<Flows>,
    /// When staff answer the phone: an administrator's schedule, else the configuration's.
    pub hours: StaffHours,
}

impl AppState {
    /// The recovery service for a request whose language is not known (English).
    pub fn recovery(&self) -> Recovery<'_> {
        self.recovery.in_lang(Lang::En)
    }

    /// The recovery service for a request made in `lang`.
    pub fn recovery_in(&self, lang: Lang) -> Recovery<'_> {
        self.recovery.in_lang(lang)
    }
}

/// The settings alone, for extractors that need nothing else (the Twilio signature check).
impl FromRef<AppState> for Arc<Settings> {
    fn from_ref(state: &AppState) -> Arc<Settings> {
        state.settings.clone()
    }
}

/// Why Helpline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up mail delivery: {0}")]
    Mail(String),
    #[error("cannot read the server keys from the database: {0}")]
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Flows(#[from] FlowProblems),
}

/// What tests (and `demo`) may replace.
#[derive(Debug, Default)]
pub struct Overrides {
    pub clock: Option<SharedClock>,
    pub email: Option<Arc<dyn EmailTransport>>,
    /// Text messages out; `None` uses Twilio's REST API when SMS is enabled.
    pub sms: Option<Arc<dyn crate::twilio::SmsTransport>>,
}

/// How often the server looks whether the daily digest is due (`staff.digest_at`).
const DIGEST_CHECK: Duration = Duration::from_secs(30);

/// A built, bound, migrated service, ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    worker: Worker,
}

/// Opens the store or explains, as a configuration problem, why it cannot be reached.
pub async fn open_store(settings: &Settings) -> Result<Store, StartError> {
    Store::connect(&settings.database_url)
        .await
        .map_err(|e| StartError::Config(settings.database_problem(e)))
}

/// The recovery service alone, for a command that decides without serving (`ingest-email`):
/// the store's server keys, a guard, a hasher, the system clock. Messages it queues wait in
/// the outbox for the server's worker.
pub async fn recovery_service(
    settings: Settings,
    store: Store,
) -> Result<RecoveryService, StartError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let keys = crate::store::keys::load(store.pool(), clock.now_ms()).await?;
    let metrics: SharedMetrics = Arc::new(Metrics::default());
    let guard = Guard::new(
        store.clone(),
        clock.clone(),
        settings.guard.clone(),
        metrics,
        keys.clone(),
    );
    let hours = loaded_hours(&store).await?;
    Ok(RecoveryService {
        settings: Arc::new(settings),
        store,
        clock,
        guard,
        hasher: Hasher::for_this_machine(),
        keys,
        outbox_wake: Arc::new(Notify::new()),
        hours,
    })
}

/// The office hours an administrator set, as stored now.
async fn loaded_hours(store: &Store) -> Result<StaffHours, StartError> {
    let hours = StaffHours::default();
    hours.reload(store).await?;
    Ok(hours)
}

impl Application {
    /// Connects, migrates and binds. Binding `127.0.0.1:0` picks a free port; see [`port`].
    ///
    /// [`port`]: Application::port
    pub async fn build(settings: Settings, overrides: Overrides) -> Result<Self, StartError> {
        let flows = Arc::new(load_flows(&settings)?);
        let store = open_store(&settings).await?;
        store.migrate().await?;
        let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let email: Arc<dyn EmailTransport> = match overrides.email {
            Some(t) => t,
            None => email_transport(&settings)?,
        };
        let sms: Option<Arc<dyn crate::twilio::SmsTransport>> = match overrides.sms {
            Some(t) => Some(t),
            None => crate::twilio::TwilioRest::from_settings(&settings)
                .map(|t| Arc::new(t) as Arc<dyn crate::twilio::SmsTransport>),
        };
        let metrics: SharedMetrics = Arc::new(Metrics::default());
        let keys = crate::store::keys::load(store.pool(), clock.now_ms()).await?;
        let guard = Guard::new(
            store.clone(),
            clock.clone(),
            settings.guard.clone(),
            metrics.clone(),
            keys.clone(),
        );
        let outbox_wake = Arc::new(Notify::new());
        let worker = Worker::new(
            store.clone(),
            clock.clone(),
            settings.outbox.clone(),
            email,
            settings.mail.from.clone(),
            metrics.clone(),
            outbox_wake.clone(),
            sms,
        )
        .with_calls(
            crate::twilio::TwilioRest::for_calls(&settings)
                .map(|t| Arc::new(t) as Arc<dyn crate::twilio::CallTransport>),
        )
        .with_caps(settings.twilio.caps)
        .with_reply_to(settings.mail.reply_to.clone());
        let listener =
            TcpListener::bind(settings.bind)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.bind,
                    source,
                })?;
        let hasher = Hasher::for_this_machine();
        hasher.warm_up().await;
        if settings.public_url.scheme() != "https" {
            tracing::warn!(
                public_url = %settings.public_url,
                "public_url is not https: cookies are sent without Secure and links go out in \
                 clear; use https outside a test machine"
            );
        }
        let settings = Arc::new(settings);
        let hours = loaded_hours(&store).await?;
        let recovery = RecoveryService {
            settings: settings.clone(),
            store: store.clone(),
            clock: clock.clone(),
            guard: guard.clone(),
            hasher: hasher.clone(),
            keys: keys.clone(),
            outbox_wake: outbox_wake.clone(),
            hours: hours.clone(),
        };
        let state = AppState {
            settings,
            store,
            clock,
            guard,
            hasher,
            metrics,
            outbox_wake,
            keys,
            recovery,
            flows,
            hours,
        };
        Ok(Self {
            listener,
            state,
            worker,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops taking connections, lets requests in
    /// flight finish, and lets the outbox worker finish the message it is delivering.
    pub async fn run_until<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let worker = tokio::spawn(self.worker.run(stop.clone()));
        let pruner = self
            .state
            .guard
            .spawn_pruner(Duration::from_secs(60), stop.clone());
        let hours = tokio::spawn(
            self.state
                .hours
                .clone()
                .keep_fresh(self.state.store.clone()),
        );
        let digest = self.state.settings.staff_digest_at.map(|at| {
            let st = &self.state;
            crate::staff::digest::Digest {
                store: st.store.clone(),
                clock: st.clock.clone(),
                mail: crate::staff::alerts::StaffMail::of(&st.settings),
                hours: st.hours.clone(),
                settings: st.settings.clone(),
            }
            .spawn(at, DIGEST_CHECK, st.outbox_wake.clone(), stop.clone())
        });
        let app = router(self.state);
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        stop.cancel();
        let _ = worker.await;
        let _ = pruner.await;
        hours.abort();
        if let Some(digest) = digest {
            let _ = digest.await;
        }
        tracing::info!("stopped");
        served
    }
}

/// The flows of `flows.dir` (default `./flows`, else the built-in copies), checked; one log
/// line says which were loaded.
pub fn load_flows(settings: &Settings) -> Result<Flows, FlowProblems> {
    let dir = &settings.flows_dir;
    let flows = Flows::load(&dir.path, dir.named)?;
    tracing::info!(flows = %flows.summary(), "flows loaded");
    Ok(flows)
}

/// The SMTP transport, or the folder transport when only `mail.dir` is set.
pub fn email_transport(settings: &Settings) -> Result<Arc<dyn EmailTransport>, StartError> {
    use secrecy::ExposeSecret;
    if let Some(url) = &settings.mail.smtp_url {
        let (url, pool) = (url.expose_secret(), settings.mail.pool_size);
        let t = match &settings.mail.tls_ca_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| StartError::Mail(format!("{}: {e}", path.display())))?;
                SmtpTransport::from_url_trusting(url, pool, &pem).map_err(StartError::Mail)?
            }
            None => {
                SmtpTransport::from_url(url, pool).map_err(|e| StartError::Mail(e.to_string()))?
            }
        };
        return Ok(Arc::new(t));
    }
    if let Some(dir) = &settings.mail.dir {
        let t = FolderTransport::new(dir)
            .map_err(|e| StartError::Mail(format!("{}: {e}", dir.display())))?;
        return Ok(Arc::new(t));
    }
    Err(StartError::Config(
        settings
            .require_mail_route()
            .err()
            .unwrap_or(ConfigErrors(Vec::new())),
    ))
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole router with its middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::channels::twilio::router())
        .merge(crate::channels::staff::router())
        // The portal's router brings the fallback: unknown paths get its 404 page.
        .merge(crate::channels::portal::router(&state))
        // Every request body up to here: at most 1 MB.
        .layer(RequestBodyLimitLayer::new(1024 * 1024))
        // An email may be 10 MB: its route caps the body itself, after the token.
        .merge(crate::channels::email_in::router())
        // The JSON API caps its own bodies, and answers even the cap's 413 as JSON.
        .merge(crate::channels::api::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The matched route, never the raw path: paths can carry reset tokens.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", |p| p.as_str())
                .to_string();
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string();
            tracing::info_span!("request", method = %req.method(), route, request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let response = next.run(req).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.is_ready().await {
        Ok(true) => (StatusCode::OK, "ready\n").into_response(),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: database migrations are not all applied\n",
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check cannot reach the store");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database cannot be reached\n",
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match crate::store::outbox::depth(state.store.pool()).await {
        Ok(depth) => {
            state.metrics.outbox_depth.set(depth);
        }
        Err(e) => tracing::warn!(error = %e, "cannot read outbox depth"),
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
