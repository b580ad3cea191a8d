#!/usr/bin/env python3
"""Helpers for scripts/flood.sh (standard library only).

  register BASE MAILDIR     gives C-1001 the password in $FLOOD_PASSWORD as its owner would:
                            "Forgot password", the emailed link (read from the mail folder),
                            the new password; then checks that it signs in
  csrf BASE                 prints the CSRF cookie and the form's token of one GET /login
                            ("COOKIE TOKEN": the token is bound to the cookie)
  good BASE SECONDS OUT     a correct sign-in of C-1001 every 200 ms; latencies to OUT (JSON)
  rss PID SECONDS OUT       the server's RSS every 0.5 s; (seconds since start, KiB) to OUT
  report WRK GOOD RSS FLOOD_SECONDS IDLE_KIB BEFORE_KIB
                            prints the summary

The password is never printed. Each correct sign-in comes from its own address in
192.0.2.0/24 (X-Forwarded-For through the trusted proxy), as the flood's do: the per-source
limiter allows 30 a minute from one address, and this client makes 300.
"""

import http.client
import json
import os
import re
import sys
import time
import urllib.parse

USERNAME = "C-1001"


def split(base):
    u = urllib.parse.urlsplit(base)
    return u.hostname, u.port


def csrf_token(base, path="/login", cookies=""):
    """(cookie, form token) of one page: the form's token is a keyed hash of the cookie."""
    host, port = split(base)
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", path, headers={"Cookie": cookies} if cookies else {})
    r = c.getresponse()
    page = r.read().decode("utf-8", "replace")
    c.close()
    cookie = None
    for name, value in r.getheaders():
        if name.lower() == "set-cookie" and value.startswith("helpline_csrf="):
            cookie = value.split(";", 1)[0].split("=", 1)[1]
    if cookie is None and "helpline_csrf=" in cookies:
        cookie = cookies.split("helpline_csrf=", 1)[1].split(";", 1)[0]
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    if cookie is None or found is None:
        sys.exit(f"GET {path} answered {r.status} without a CSRF cookie and form token")
    return cookie, found.group(1)


def post(base, path, csrf, fields, ip, cookies=""):
    """POSTs a form; returns (status, Location header, seconds taken)."""
    host, port = split(base)
    cookie, token = csrf
    body = urllib.parse.urlencode(dict(fields, csrf=token))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"helpline_csrf={cookie}" + (f"; {cookies}" if cookies else ""),
        "X-Forwarded-For": ip,
    }
    c = http.client.HTTPConnection(host, port, timeout=30)
    start = time.monotonic()
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    took = time.monotonic() - start
    c.close()
    return r.status, r.getheader("Location") or "", took


def sign_in(base, token, ip):
    password = os.environ["FLOOD_PASSWORD"]
    status, location, took = post(
        base, "/login", token, {"username": USERNAME, "password": password}, ip
    )
    return status == 303 and location.endswith("/account"), status, took


def register(base, maildir):
    password = os.environ["FLOOD_PASSWORD"]
    post(base, "/forgot", csrf_token(base, "/forgot"), {"username": USERNAME}, "192.0.2.250")
    link = None
    for _ in range(100):
        for name in sorted(os.listdir(maildir)) if os.path.isdir(maildir) else []:
            with open(os.path.join(maildir, name), encoding="utf-8", errors="replace") as f:
                text = f.read().replace("=\r\n", "").replace("=\n", "")
            found = re.search(r"/reset/([0-9a-f]{64})", text)
            if found:
                link = found.group(1)
        if link:
            break
        time.sleep(0.1)
    if link is None:
        sys.exit(f"no reset link for {USERNAME} arrived in {maildir}")
    # Opening the link moves the token into a cookie scoped to /reset.
    host, port = split(base)
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", f"/reset/{link}", headers={"X-Forwarded-For": "192.0.2.250"})
    r = c.getresponse()
    r.read()
    c.close()
    reset_cookie = next(
        v.split(";", 1)[0] for k, v in r.getheaders()
        if k.lower() == "set-cookie" and v.startswith("helpline_reset=")
    )
    csrf = csrf_token(base, "/reset", reset_cookie)
    fields = {
        "password": password,
        "confirm": password,
        "question": "first_pet",
        "answer": "Biscuit",
        "answer_again": "Biscuit",
    }
    status, location, _ = post(base, "/reset", csrf, fields, "192.0.2.250", reset_cookie)
    ok, login_status, _ = sign_in(base, csrf_token(base), "192.0.2.251")
    if not ok:
        sys.exit(f"could not set up {USERNAME}: reset {status} {location}, sign-in {login_status}")


def good(base, seconds, out):
    token = csrf_token(base)
    results = []
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n * 0.2
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        ip = f"192.0.2.{n % 250 + 1}"
        try:
            ok, status, took = sign_in(base, token, ip)
        except OSError as e:
            ok, status, took = False, str(e), None
        results.append({"ok": ok, "status": status, "seconds": took})
        n += 1
    with open(out, "w") as f:
        json.dump(results, f)


def status(pid):
    """(RSS in KiB, threads) of the process."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def rss(pid, seconds, out):
    samples = []
    start = time.monotonic()
    n = 0
    while True:
        due = start + n * 0.5
        if due - start > seconds:
            break
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        samples.append((round(time.monotonic() - start, 2), *status(pid)))
        n += 1
    with open(out, "w") as f:
        json.dump(samples, f)


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def mb(kib):
    return f"{kib / 1024:.1f} MB"


def report(wrk_out, good_out, rss_out, flood_seconds, idle_kib, before_kib):
    w = {}
    with open(wrk_out) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                w[k] = float(v)
    statuses = {k: int(v) for k, v in w.items() if k.startswith("status_")}
    bad_status = sum(n for k, n in statuses.items() if k != "status_200")
    with open(good_out) as f:
        g = json.load(f)
    lat = [r["seconds"] * 1000 for r in g if r["ok"]]
    failed = [r for r in g if not r["ok"]]
    with open(rss_out) as f:
        samples = json.load(f)
    flood_seconds = float(flood_seconds)
    during = [k for t, k, _ in samples if t <= flood_seconds + 1]
    after = [k for t, k, _ in samples if t > flood_seconds + 1]
    print(f"flood:        {w['requests'] / w['duration_s']:.0f} requests/s "
          f"({int(w['requests'])} in {w['duration_s']:.1f} s)")
    print(f"flood:        p50 {w['p50_ms']:.0f} ms, p99 {w['p99_ms']:.0f} ms, "
          f"max {w['max_ms']:.0f} ms; {int(w['over_1s'])} over 1 s "
          f"({int(w['over_2s'])} over 2 s)")
    print(f"flood:        errors {int(w['socket_errors']) + bad_status} "
          f"(socket {int(w['socket_errors'])}, of them timeouts {int(w['timeouts'])}; "
          f"statuses {', '.join(f'{k[7:]}: {n}' for k, n in sorted(statuses.items()))})")
    print(f"good sign-in: {len(g)} tries, p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms, "
          f"max {max(lat, default=float('nan')):.0f} ms; failures {len(failed)}"
          + (f" (statuses {sorted({str(r['status']) for r in failed})})" if failed else ""))
    print(f"memory (RSS): idle {mb(int(idle_kib))}, before the flood {mb(int(before_kib))}, "
          f"peak during {mb(max(during))}, peak after {mb(max(after, default=0))}, "
          f"{samples[-1][0] - flood_seconds:.0f} s after {mb(samples[-1][1])}")
    every5 = [f"{k / 1024:.0f}" for t, k, _ in samples if t % 5 == 0]
    print(f"memory (RSS, MB) every 5 s from the flood's start: {' '.join(every5)}")
    print(f"threads: most {max(n for _, _, n in samples)}, at the end {samples[-1][2]}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "register":
        register(*args)
    elif cmd == "csrf":
        print(*csrf_token(*args))
    elif cmd == "good":
        good(args[0], float(args[1]), args[2])
    elif cmd == "rss":
        rss(int(args[0]), float(args[1]), args[2])
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
