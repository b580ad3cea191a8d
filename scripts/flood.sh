#!/usr/bin/env bash
# Holding up under a flood of wrong-password sign-ins (README, Performance). Not part of CI:
# figures depend on the machine and on what else runs on it.
#
# Serves a release build on a throwaway SQLite database with the sample roster, behind a
# "proxy" (trusted_proxies = 127.0.0.1), gives C-1001 a known password through "Forgot
# password" and the emailed link (mail goes to a folder), then
# for SECONDS floods POST /login with wrong passwords for random unknown usernames, each from
# a random X-Forwarded-For address (so neither the per-source limiter nor a per-account wait
# stops it before argon2), over CONNECTIONS connections with wrk. Meanwhile a second client
# signs C-1001 in correctly every 200 ms, and the server's RSS is sampled every 0.5 s during
# the flood and for AFTER seconds after it.
#
# Usage: scripts/flood.sh [CONNECTIONS] [SECONDS] [AFTER]     (defaults 256 15 30)
#   HELPLINE_BIN=path  measure that binary instead of building target/release/helpline
# Needs wrk (apt-get install -y wrk), curl and python3. Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
conns=${1:-256}
secs=${2:-15}
after=${3:-30}
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "flood.sh needs $tool" >&2; exit 1; }
done
if [ -z "${HELPLINE_BIN:-}" ]; then
    cargo build --release --quiet
    bin=$root/target/release/helpline
else
    bin=$HELPLINE_BIN
fi
client="python3 $root/scripts/flood_client.py"

work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat > helpline.toml <<EOF
bind = "127.0.0.1:$port"
database_url = "sqlite://$work/helpline.db"
trusted_proxies = ["127.0.0.1"]

[mail]
dir = "$work/mail"
from = "Helpline <helpline@example.com>"
EOF
export HELPLINE_CONFIG=$work/helpline.toml
"$bin" migrate 2>/dev/null
"$bin" import-contractors "$root/demo/roster.csv" >/dev/null 2>&1
RUST_LOG=warn "$bin" serve 2>serve.log & pid=$!
for _ in $(seq 1 500); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.02
done
curl -fs "$base/readyz" >/dev/null || { echo "serve did not start:" >&2; cat serve.log >&2; exit 1; }
sleep 3
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
idle=$(rss)

FLOOD_PASSWORD="Flood-$(python3 -c 'import secrets; print(secrets.token_hex(5))')7x"
export FLOOD_PASSWORD
$client register "$base" "$work/mail"
sleep 1
before=$(rss)
read -r csrf_cookie token < <($client csrf "$base")

echo "flood: $conns connections for $secs s on $(nproc) cores ($bin)"
$client rss "$pid" "$((secs + after))" rss.json & sampler=$!
$client good "$base" "$secs" good.json & good=$!
FLOOD_CSRF=$token FLOOD_CSRF_COOKIE=$csrf_cookie wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s -s "$root/scripts/flood.lua" \
    "$base/login" > wrk.txt
wait "$good"
wait "$sampler"
$client report wrk.txt good.json rss.json "$secs" "$idle" "$before"
if [ -s serve.log ]; then
    echo "server log (warnings and errors): $(wc -l < serve.log) lines; first:"
    head -3 serve.log
fi
