//! The fixed-rate half of `scripts/voice_bench.sh`: posts pre-signed Twilio webhooks at a
//! steady rate and reports latency percentiles. wrk only drives as fast as it can (its
//! percentiles at full load measure the queue), wrk2 is not packaged in Debian, and `oha` would
//! be a few hundred crates more to build on a shared 2-core machine; this is ~150 lines over
//! reqwest and tokio, which Helpline already depends on.
//!
//! Open loop, as wrk2 does it: request `i` is due at `start + i / rate` whatever happened to the
//! ones before, and its latency is counted from when it was due, not from when it was sent, so
//! a stall of the server shows in full instead of only as the one request that hit it
//! ("coordinated omission"). `CONNECTIONS` tasks share one keep-alive client; each takes the
//! next due request, waits for its time and sends it, so at most `CONNECTIONS` requests are in
//! flight and a request that finds them all busy waits, and that wait is counted. Tokio's timer
//! wakes up to 1 ms late, which counts against the server too; the time from send to answer is
//! printed beside it.
//!
//! `REQUESTS` is a file of `SIGNATURE<TAB>FORM BODY` lines (`scripts/voice_bench.py sign`
//! writes them); line `i` goes with request `i`, so every request is a new call as long as the
//! file has `RATE * SECONDS` lines. Any answer but 200, and any 200 whose body does not contain
//! `EXPECT` (when given), is an error.
//!
//! Usage: `fixed_rate URL REQUESTS RATE SECONDS CONNECTIONS [EXPECT]`; prints one line of
//! `key=value` pairs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

struct Sample {
    /// From when it was due to the end of the answer.
    due_us: u64,
    /// From when it was sent to the end of the answer.
    sent_us: u64,
    ok: bool,
}

/// Errors end the run with their words; the examples keep to the crate's own dependencies.
type Error = Box<dyn std::error::Error + Send + Sync>;

fn usage() -> Error {
    "usage: fixed_rate URL REQUESTS RATE SECONDS CONNECTIONS [EXPECT]".into()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, file, rate, seconds, connections, rest @ ..] = args.as_slice() else {
        return Err(usage());
    };
    let expect = rest.first().cloned();
    let rate: f64 = rate.parse().map_err(|_| usage())?;
    let seconds: f64 = seconds.parse().map_err(|_| usage())?;
    let connections: usize = connections.parse().map_err(|_| usage())?;
    let lines: Vec<(String, String)> = std::fs::read_to_string(file)?
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(s, b)| (s.to_string(), b.to_string()))
        .collect();
    // Rounded, not truncated: 1000.0 * 30.0 is exactly 30,000 requests.
    let total = (rate * seconds).round() as usize;
    if lines.len() < total {
        return Err(format!(
            "{file} has {} requests; {total} are needed for fresh calls",
            lines.len()
        )
        .into());
    }
    let lines = Arc::new(lines);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()?;
    let period = Duration::from_secs_f64(1.0 / rate);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(100);
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (client, lines, next, url, expect) = (
            client.clone(),
            lines.clone(),
            next.clone(),
            url.clone(),
            expect.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((signature, body)) = lines.get(i).filter(|_| i < total) else {
                    break;
                };
                let due = start + period.mul_f64(i as f64);
                tokio::time::sleep_until(due).await;
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("X-Twilio-Signature", signature)
                    .body(body.clone())
                    .send()
                    .await;
                let ok = match answer {
                    Ok(r) if r.status() == 200 => match r.text().await {
                        Ok(text) => expect.as_deref().is_none_or(|e| text.contains(e)),
                        Err(_) => false,
                    },
                    Ok(r) => {
                        let _ = r.bytes().await;
                        false
                    }
                    Err(_) => false,
                };
                let end = Instant::now();
                samples.push(Sample {
                    due_us: micros(end.duration_since(due)),
                    sent_us: micros(end.duration_since(sent)),
                    ok,
                });
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let errors = samples.iter().filter(|s| !s.ok).count();
    let mut due: Vec<u64> = samples.iter().map(|s| s.due_us).collect();
    let mut sent: Vec<u64> = samples.iter().map(|s| s.sent_us).collect();
    due.sort_unstable();
    sent.sort_unstable();
    println!(
        "requests={} errors={errors} achieved={:.1} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} \
         p999_ms={:.2} max_ms={:.2} sent_p50_ms={:.2} sent_p99_ms={:.2}",
        samples.len(),
        samples.len() as f64 / elapsed,
        ms(&due, 0.50),
        ms(&due, 0.90),
        ms(&due, 0.99),
        ms(&due, 0.999),
        ms(&due, 1.0),
        ms(&sent, 0.50),
        ms(&sent, 0.99),
    );
    Ok(())
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The `q` quantile of sorted microseconds, in milliseconds (nearest rank).
fn ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}
