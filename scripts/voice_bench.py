#!/usr/bin/env python3
"""Helpers for scripts/voice_bench.sh (standard library only).

  sign URL TOKEN COUNT PREFIX OUT
        writes COUNT incoming-call webhooks to OUT, one per line as SIGNATURE<TAB>BODY: the
        fields Twilio posts when a call comes in, each with its own CallSid (PREFIX, 8 hex
        digits, keeps runs apart), signed for URL with TOKEN as Twilio signs
        (base64 HMAC-SHA1 over the URL, then the fields sorted by name)
  steps DB PREFIX PUBLIC_URL TOKEN OUT
        for every call in DB whose CallSid starts with CA+PREFIX and that waits at its first
        prompt, the webhook of the caller pressing 1 there: posted to the <Gather>'s action
        (read from the TwiML the call stored; the same for all of them), signed; writes
        SIGNATURE<TAB>BODY lines to OUT and prints the action's path and query
  rss PID SECONDS OUT
        the server's RSS every 0.25 s for SECONDS; the samples (KiB) to OUT, one a line
  wrk FILE                prints "requests/s p50_ms p99_ms errors" from wrk's output
  calls DB                prints how many calls the database holds, how many of them hold a
                          <Gather> as their last answer, and how many went past their first
                          prompt
"""

import base64
import hashlib
import hmac
import json
import re
import sqlite3
import sys
import time
import urllib.parse


def incoming_call(sid, i):
    """The form Twilio posts to the voice URL when a call comes in (most fields of it)."""
    caller = f"+1303{5550000 + i % 10000:07d}"[:12]
    return {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "ringing",
        "CallToken": "%7B%22parentCallInfoToken%22%3A%22eyJhbGciOiJFUzI1NiJ9%22%7D",
        "Called": "+13035550100",
        "CalledCity": "DENVER",
        "CalledCountry": "US",
        "CalledState": "CO",
        "CalledZip": "80202",
        "Caller": caller,
        "CallerCity": "DENVER",
        "CallerCountry": "US",
        "CallerState": "CO",
        "CallerZip": "80203",
        "Direction": "inbound",
        "From": caller,
        "FromCity": "DENVER",
        "FromCountry": "US",
        "FromState": "CO",
        "FromZip": "80203",
        "StirVerstat": "TN-Validation-Passed-B",
        "To": "+13035550100",
        "ToCity": "DENVER",
        "ToCountry": "US",
        "ToState": "CO",
        "ToZip": "80202",
    }


def key_pressed(sid, i, digits):
    """The form Twilio posts to a <Gather>'s action when the caller keyed something in."""
    form = incoming_call(sid, i)
    del form["CallToken"], form["StirVerstat"]
    form.update(CallStatus="in-progress", Digits=digits, FinishedOnKey="", msg="Gather End")
    return form


def sign(url, token, params):
    data = url + "".join(k + v for k, v in sorted(params.items()))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def cmd_sign(url, token, count, prefix, out):
    count = int(count)
    with open(out, "w") as f:
        for i in range(count):
            sid = f"CA{prefix}{i:024x}"
            params = incoming_call(sid, i)
            body = urllib.parse.urlencode(params)
            f.write(f"{sign(url, token, params)}\t{body}\n")


def cmd_steps(db, prefix, public_url, token, out):
    c = sqlite3.connect(db)
    rows = c.execute(
        "SELECT external_key, state FROM conversations WHERE external_key LIKE ? ORDER BY id",
        (f"CA{prefix}%",),
    ).fetchall()
    paths = set()
    with open(out, "w") as f:
        for i, (sid, state) in enumerate(rows):
            last = json.loads(state).get("last", "")
            found = re.search(r'<Gather [^>]*action="([^"]+)"', last)
            if not found:
                continue
            path = found.group(1).replace("&amp;", "&")
            paths.add(path)
            params = key_pressed(sid, i, "1")
            body = urllib.parse.urlencode(params)
            f.write(f"{sign(public_url + path, token, params)}\t{body}\n")
    if len(paths) != 1:
        sys.exit(f"expected one <Gather> action for the calls under {prefix}, found {paths}")
    print(paths.pop())


def cmd_rss(pid, seconds, out):
    end = time.monotonic() + float(seconds)
    samples = []
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        samples.append(int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.25)
    with open(out, "w") as f:
        f.write("\n".join(map(str, samples)) + "\n")


def ms(text):
    """wrk's '1.23ms' / '850.00us' / '1.02s' in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def cmd_wrk(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    print(f"{rps:.0f} {p50:.2f} {p99:.2f} {errors}")


def cmd_calls(db):
    c = sqlite3.connect(db)
    total = answered = stepped = 0
    for (state,) in c.execute("SELECT state FROM conversations"):
        state = json.loads(state)
        total += 1
        answered += "<Gather" in state.get("last", "")
        stepped += state.get("seq", 0) > 1
    print(f"{total} {answered} {stepped}")


COMMANDS = {"sign": cmd_sign, "steps": cmd_steps, "rss": cmd_rss, "wrk": cmd_wrk, "calls": cmd_calls}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
