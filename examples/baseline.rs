//! The yardstick of `scripts/voice_bench.sh`: about the least a web service can do per request
//! on SQLite — axum, one pooled sqlx upsert, a short text answer. The phone line's step is
//! measured against it in the same run, on the same machine, with the same load generator.
//!
//! `POST /hit` reads the form field `CallSid` (the benchmark posts it the same signed Twilio
//! forms it posts Helpline, so each request is a new key and an INSERT, as a new call is) and
//! runs `INSERT … ON CONFLICT (key) DO UPDATE SET n = n + 1 RETURNING n`; the answer is `n`.
//!
//! What matches Helpline's store (`src/store/mod.rs`): sqlx 0.9 and the same SQLite build, a
//! pool of at most 8 connections with a 5 s acquire timeout, handed out without a ping
//! (`test_before_acquire(false)`), and on every connection the same
//! `PRAGMA journal_mode = WAL; synchronous = NORMAL; busy_timeout = 10000; foreign_keys = ON`;
//! the database file is created if missing (`mode=rwc`). Tokio's default multi-threaded
//! runtime as `helpline serve` uses. What does not: it talks to SQLite through sqlx's SQLite
//! driver directly (Helpline goes through sqlx's `Any` driver, which serves PostgreSQL too),
//! and it has no middleware (Helpline has request ids, tracing, timeouts, a body limit, panic
//! catching and request metrics) — that is the point of a yardstick.
//!
//! Usage: `cargo run --release --example baseline -- [DATABASE_URL] [BIND]`
//! (defaults `sqlite://baseline.db` and `127.0.0.1:8090`).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use sqlx::Executor;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "CallSid")]
    call_sid: String,
}

async fn hit(
    State(pool): State<SqlitePool>,
    Form(hit): Form<Hit>,
) -> Result<String, (StatusCode, String)> {
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO hits (key, n) VALUES ($1, 1) \
         ON CONFLICT (key) DO UPDATE SET n = hits.n + 1 RETURNING n",
    )
    .bind(&hit.call_sid)
    .fetch_one(&pool)
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")))?;
    Ok(format!("{n}\n"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "sqlite://baseline.db".to_string());
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:8090".to_string());
    let url = if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    let pool = SqlitePoolOptions::new()
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(8)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    pool.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT PRIMARY KEY, n BIGINT NOT NULL)")
        .await?;
    let app = Router::new().route("/hit", post(hit)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("baseline: listening on {bind}");
    axum::serve(listener, app).await?;
    Ok(())
}
