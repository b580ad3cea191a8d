#!/usr/bin/env bash
# Measures what the README reports: roster import rate (100,000 rows on SQLite), the time
# from `serve` start to ready, and the idle memory of `serve`. Not part of CI: figures depend
# on the machine. Usage: scripts/bench.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
cargo build --release --quiet
bin=$PWD/target/release/helpline
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

python3 - "$rows" > roster.csv <<'PY'
import sys
n = int(sys.argv[1])
print("contractor_number,license_number,business_name,contact_name,phone,alt_phone,email")
for i in range(n):
    print(f"C-{i:06d},L-{i:07d},Business {i},Contact {i},({200 + i % 700}) {200 + (i // 700) % 700}-{i % 10000:04d},,c{i}@example.com")
PY

export HELPLINE_DATABASE_URL="sqlite://$work/bench.db" HELPLINE_MAIL_FROM="helpline@example.com"
"$bin" migrate >/dev/null 2>&1
start=$(date +%s.%N)
"$bin" import-contractors roster.csv 2>/dev/null | tail -1
end=$(date +%s.%N)
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'import: {int(sys.argv[3])} rows in {s:.2f} s = {int(sys.argv[3])/s:,.0f} rows/s')" "$start" "$end" "$rows"
start=$(date +%s.%N)
"$bin" import-contractors roster.csv 2>/dev/null | tail -1
end=$(date +%s.%N)
python3 -c "import sys; print(f're-import (all unchanged): {float(sys.argv[2])-float(sys.argv[1]):.2f} s')" "$start" "$end"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HELPLINE_BIND="127.0.0.1:$port" HELPLINE_SMTP_URL="smtp://127.0.0.1:9"
start=$(date +%s.%N)
RUST_LOG=warn "$bin" serve & pid=$!
until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.005; done
end=$(date +%s.%N)
python3 -c "import sys; print(f'serve: ready {1000*(float(sys.argv[2])-float(sys.argv[1])):.0f} ms after start')" "$start" "$end"
sleep 3
echo "serve: idle memory $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status) RSS with ${rows} contractors on record"
