#!/usr/bin/env bash
# The phone line under load (README, Performance). Not part of CI: figures depend on the
# machine and on what else runs on it.
#
# Measures two steps of the phone line, each request a step of its own call, against a
# yardstick in the same run: examples/baseline.rs, a bare axum handler doing one SQLite upsert
# per request with the same pool size, checkout and pragmas as Helpline's store.
#   call-comes-in  POST /twilio/voice: X-Twilio-Signature checked, the flow run to its first
#                  prompt, the TwiML rendered, the call's conversation opened under its CallSid
#                  holding that answer (its answer number claimed), TwiML answered.
#   key-pressed    POST /twilio/voice/step?n=1 with Digits=1 for each of those calls (English,
#                  to the main menu): signature checked, the conversation read, answer 1
#                  claimed, the flow moved on, TwiML rendered, the state written back with the
#                  version read.
# All three run from a release build on their own throwaway SQLite database (Helpline with
# the sample roster loaded and its default log level, info, to a file).
#
# Every request is a different call: voice_bench.py signs the forms Twilio posts (each call
# with its own CallSid) for Helpline's public URL and auth token ahead of time, so signing
# costs the client nothing and the server does the full work every time (a repeated request
# would be a retry, answered from the stored TwiML). The key presses are signed from the calls
# the database holds after the calls came in, for the <Gather> action their TwiML names. The
# baseline is posted the incoming-call forms and upserts their CallSid.
#
# Per run: the baseline, then call-comes-in, then key-pressed, each
#   1. (2 s of warm-up with wrk on other calls, for a fresh server), then SECONDS at
#      CONNECTIONS connections with wrk (2 threads): the most requests per second it answers;
#      the server's RSS is sampled every 0.25 s meanwhile;
#   2. PACED_SECONDS at RATE requests/s over CONNECTIONS connections with
#      examples/fixed_rate.rs (open loop: latency counted from when each request was due, so a
#      stall counts in full; wrk cannot hold a rate and wrk2 is not packaged): p50/p99/max.
# Then Helpline's database is checked: every call holds a <Gather> as its last answer (none
# left half done) and the key presses moved their calls on; and the log holds no error.
#
# Usage: scripts/voice_bench.sh [SECONDS] [RUNS]      (defaults 10 and 3)
#   CONNECTIONS=32 RATE=1000 PACED_SECONDS=20 override the load.
#   HELPLINE_BIN=path BASELINE_BIN=path FIXED_RATE_BIN=path measure those builds instead of
#   building (cargo build --release --bin helpline --example baseline --example fixed_rate).
# Needs wrk (installed with apt-get when missing and running as root), curl and python3.
# Traffic goes to 127.0.0.1 only; nothing is sent to Twilio (the API base is a closed port).
set -euo pipefail
for var in HELPLINE_BIN BASELINE_BIN FIXED_RATE_BIN; do
    if [ -n "${!var:-}" ]; then export "$var=$(realpath "${!var}")"; fi
done
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-10}
runs=${2:-3}
conns=${CONNECTIONS:-32}
rate=${RATE:-1000}
paced=${PACED_SECONDS:-20}
threads=2

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        echo "voice_bench.sh needs wrk: apt-get install -y wrk (as root)" >&2
        exit 1
    fi
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "voice_bench.sh needs $tool" >&2; exit 1; }
done
if [ -z "${HELPLINE_BIN:-}" ] || [ -z "${BASELINE_BIN:-}" ] || [ -z "${FIXED_RATE_BIN:-}" ]; then
    cargo build --release --quiet --bin helpline --example baseline --example fixed_rate
fi
helpline=${HELPLINE_BIN:-$root/target/release/helpline}
baseline=${BASELINE_BIN:-$root/target/release/examples/baseline}
fixed_rate=${FIXED_RATE_BIN:-$root/target/release/examples/fixed_rate}
py="python3 $root/scripts/voice_bench.py"

work=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
    for _ in $(seq 1 500); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.02
    done
    echo "$2 did not start:" >&2
    cat "$3" >&2
    exit 1
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

public_url=https://helpline.example.com
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
run_id=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
# Enough fresh calls for the fastest server seen here (~20,000/s) plus a margin.
flood_count=$((25000 * secs))
$py sign "$public_url/twilio/voice" "$token" 40000 "${run_id:0:7}a" warm.txt
$py sign "$public_url/twilio/voice" "$token" "$flood_count" "${run_id:0:7}b" flood.txt
$py sign "$public_url/twilio/voice" "$token" "$((rate * paced))" "${run_id:0:7}c" paced.txt

# measure NAME URL FLOOD PACED EXPECT: [warm-up,] flood with RSS samples, then the paced run;
# prints the row and leaves NAME.wrk, NAME.paced, NAME.rss
measure() {
    local name=$1 url=$2 flood_file=$3 paced_file=$4 expect=$5
    if [ -n "${WARM:-}" ]; then
        VOICE_BENCH_REQUESTS=$work/warm.txt VOICE_BENCH_THREADS=$threads \
            wrk -t$threads -c"$conns" -d2s -s "$root/scripts/voice_bench.lua" "$url" >/dev/null
    fi
    $py rss "$pid" "$secs" "$name.rss" & local sampler=$!
    VOICE_BENCH_REQUESTS=$work/$flood_file VOICE_BENCH_THREADS=$threads \
        wrk -t$threads -c"$conns" -d"${secs}s" --latency -s "$root/scripts/voice_bench.lua" "$url" > "$name.wrk"
    wait "$sampler"
    if ! grep -q '^wrapped=0$' "$name.wrk"; then
        echo "warning: $name ran out of fresh calls ($(grep wrapped= "$name.wrk")): raise flood_count" >&2
    fi
    "$fixed_rate" "$url" "$paced_file" "$rate" "$paced" "$conns" $expect > "$name.paced"
    local rps p50 p99 err
    read -r rps p50 p99 err < <($py wrk "$name.wrk")
    local requests errors achieved p50_ms p90_ms p99_ms p999_ms max_ms sent_p50_ms sent_p99_ms
    eval "$(cat "$name.paced")"
    printf '%-4s %-14s %9s %8s %8s %7s | %9s %8s %8s %8s %7s | %7sM %7sM\n' "$run" "$name" \
        "$rps" "$p50" "$p99" "$err" "$achieved" "$p50_ms" "$p99_ms" "$max_ms" "$errors" \
        "$((idle / 1024))" "$(($(sort -n "$name.rss" | tail -1) / 1024))"
    echo "$rps" > "$name.rps"
}

echo "voice_bench: $conns connections, ${secs} s flood, ${paced} s at $rate/s, $runs runs, $(nproc) cores"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %-14s %9s %8s %8s %7s | %9s %8s %8s %8s %7s | %8s %8s\n' \
    run server "req/s" "p50 ms" "p99 ms" errors "paced/s" "p50 ms" "p99 ms" "max ms" errors \
    "RSS idle" "RSS peak"
for run in $(seq 1 "$runs"); do
    # --- the baseline
    port=$(free_port)
    "$baseline" "sqlite://$work/baseline-$run.db" "127.0.0.1:$port" 2>baseline.log & pid=$!
    wait_up "http://127.0.0.1:$port/" baseline baseline.log
    sleep 1
    idle=$(rss)
    WARM=1 measure baseline "http://127.0.0.1:$port/hit" flood.txt paced.txt ""
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

    # --- Helpline: calls coming in, then the same calls' first key press
    port=$(free_port)
    db=$work/helpline-$run.db
    export HELPLINE_DATABASE_URL="sqlite://$db" HELPLINE_BIND="127.0.0.1:$port" \
        HELPLINE_PUBLIC_URL="$public_url" HELPLINE_TWILIO_AUTH_TOKEN="$token" \
        HELPLINE_TWILIO_ACCOUNT_SID="AC00000000000000000000000000000000" \
        HELPLINE_TWILIO_FROM="+13035550100" HELPLINE_TWILIO_API_BASE="http://127.0.0.1:9" \
        HELPLINE_MAIL_FROM="helpline@example.com" HELPLINE_SMTP_URL="smtp://127.0.0.1:9"
    "$helpline" migrate >/dev/null 2>&1
    "$helpline" import-contractors "$root/demo/roster.csv" >/dev/null 2>&1
    "$helpline" serve 2>serve.log & pid=$!
    wait_up "http://127.0.0.1:$port/readyz" "helpline serve" serve.log
    sleep 1
    idle=$(rss)
    WARM=1 measure call-comes-in "http://127.0.0.1:$port/twilio/voice" flood.txt paced.txt "<Gather"
    step=$($py steps "$db" "${run_id:0:7}b" "$public_url" "$token" steps-flood.txt)
    $py steps "$db" "${run_id:0:7}c" "$public_url" "$token" steps-paced.txt >/dev/null
    measure key-pressed "http://127.0.0.1:$port$step" steps-flood.txt steps-paced.txt "<Gather"
    read -r convs answered stepped < <($py calls "$db")
    errors=$(grep -c 'ERROR' serve.log || true)
    python3 -c "import sys; b, c, k = map(float, sys.argv[1:]); print(f'     ratio to the baseline: call comes in {c / b:.2f}, key pressed {k / b:.2f} (goal: at least 0.50)')" \
        "$(cat baseline.rps)" "$(cat call-comes-in.rps)" "$(cat key-pressed.rps)"
    echo "     check: $answered of $convs calls hold a <Gather> answer, $stepped of them past the first prompt; $errors error lines in the log"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
