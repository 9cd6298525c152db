#!/usr/bin/env python3
"""End-to-end comparison of burnrate with InfluxDB 1.x, VictoriaMetrics and DuckDB.

One run on one machine: generates the telemetry with `burnrate gen` (fixed seed) as line
protocol and CSV, computes the exact reference answers of q1-q5 from the generated data,
starts each system on loopback with its own temporary data directory, ingests the same
points (HTTP systems through the native load generator `burnrate-loadgen`, DuckDB with
read_csv), lets compaction settle, runs q1-q5 in each system's own language (1 warm-up,
5 measured runs, median), checks every answer against the reference, stops every process
it started by its own pid, and prints one table with burnrate's ratio to each peer.

    python3 bench/compare/compare.py [--small] [--systems burnrate,influxdb,...]

Exit status: 0 when every system that ran answered correctly, 1 when burnrate failed (did
not start, lost acknowledged points, or gave a wrong answer), 2 on a usage error, 3 when
only a peer failed or the environment is missing something. See docs/benchmarks.md.
"""

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from decimal import Decimal

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UNITS = 10**10  # money units per dollar (include/burnrate/money.h)
SYSTEMS = ["burnrate", "influxdb", "victoriametrics", "duckdb"]
Q5_THRESHOLD = 20  # $/hour
QUERY_NAMES = ["q1", "q2", "q3", "q4", "q5"]
QUERY_TITLES = {
    "q1": "cost per run_id, top 20",
    "q2": "hourly cost of one run",
    "q3": "cost per (cloud, account) per day",
    "q4": "top 10 resources, last 7 days",
    "q5": "$/hour over the last 5 min per run, > threshold",
}


class BurnrateFailure(Exception):
    """burnrate itself failed: the run must exit 1."""


class PeerFailure(Exception):
    """A peer (or its environment) failed: reported, not burnrate's fault."""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port():
    # Bound then released: the system we start binds it right after (loopback only).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def vm_hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return None


def rfc3339(ns):
    t = dt.datetime.fromtimestamp(ns // NS, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_ts(ns):
    t = dt.datetime.fromtimestamp(ns // NS, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def units_to_decimal(u):
    return Decimal(u) / UNITS


def parse_units(text):
    """An exact decimal literal (no exponent) as int money units of 1e-10."""
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    if len(frac) > 10:
        raise ValueError(f"cost {text} has more than 10 decimals")
    u = int(whole or "0") * UNITS + int((frac + "0000000000")[:10])
    return -u if neg else u


# ---------------------------------------------------------------------------------------
# Data: generation, CSV, exact reference answers.


def prepare_data(args, work):
    key = f"d{args.days}-s{args.series}-seed{args.seed}"
    ddir = os.path.join(work, "data-" + key)
    lp = os.path.join(ddir, "cost.lp")
    csv = os.path.join(ddir, "cost.csv")
    ref_path = os.path.join(ddir, "reference.json")
    if (os.path.exists(ref_path) and os.path.exists(lp) and
            (os.path.exists(csv) or not args.need_csv)):
        log(f"data: reusing {ddir}")
        with open(ref_path) as f:
            return lp, csv, json.load(f)
    os.makedirs(ddir, exist_ok=True)
    t0 = time.time()
    log(f"data: burnrate gen --days {args.days} --series {args.series} --seed {args.seed}")
    subprocess.run([args.burnrate, "gen", "--days", str(args.days), "--series",
                    str(args.series), "--seed", str(args.seed), "--out", lp], check=True,
                   stderr=subprocess.DEVNULL)
    log(f"data: {os.path.getsize(lp) / 1e6:.0f} MB of line protocol in {time.time() - t0:.0f} s;"
        f" computing the reference{' and the CSV' if args.need_csv else ''}")
    t0 = time.time()
    ref = reference_and_csv(lp, csv if args.need_csv else None, args.days)
    with open(ref_path, "w") as f:
        json.dump(ref, f)
    log(f"data: {ref['points']:,} points, reference in {time.time() - t0:.0f} s")
    return lp, csv, ref


def reference_and_csv(lp, csv_path, days):
    """One pass over the line protocol: exact sums in money units for q1-q5, and the CSV.
    Independent of burnrate's code: plain Python integers over the generated text."""
    per_run = {}
    per_run_hour = {}
    per_cloud_account_day = {}
    per_resource = {}
    per_run_5m = {}
    points = 0
    start = end = q4_from = q5_from = None
    tag_keys = None
    out = open(csv_path, "w", buffering=1 << 20) if csv_path else None
    ts_cache = (None, None)
    with open(lp, "rb") as f:
        for raw in f:
            head, fields, ts_text = raw.decode().rstrip("\n").split(" ")
            parts = head.split(",")
            tags = dict(p.split("=", 1) for p in parts[1:])
            fv = dict(p.split("=", 1) for p in fields.split(","))
            cost = parse_units(fv["cost"])
            ts = int(ts_text)
            if start is None:
                # The generator writes minute by minute from --start for exactly `days`.
                start = ts
                end = start + days * DAY
                q4_from = end - 7 * DAY
                q5_from = end - 5 * MINUTE
                tag_keys = sorted(tags)
                if out:
                    out.write("time," + ",".join(tag_keys) + ",cost,gpu_util,gpu_count\n")
            if not start <= ts < end:
                raise SystemExit(f"point at {ts} outside [{start}, {end})")
            points += 1
            run = tags["run_id"]
            per_run[run] = per_run.get(run, 0) + cost
            hk = (run, ts - ts % HOUR)
            per_run_hour[hk] = per_run_hour.get(hk, 0) + cost
            dk = (tags["cloud"], tags["account"], ts - ts % DAY)
            per_cloud_account_day[dk] = per_cloud_account_day.get(dk, 0) + cost
            if ts >= q4_from:
                res = tags["resource"]
                per_resource[res] = per_resource.get(res, 0) + cost
                if ts >= q5_from:
                    per_run_5m[run] = per_run_5m.get(run, 0) + cost
            if out:
                if ts_cache[0] != ts:
                    ts_cache = (ts, sql_ts(ts) + (f".{ts % NS:09d}" if ts % NS else ""))
                out.write(ts_cache[1] + "," + ",".join(tags.get(k, "") for k in tag_keys) + ","
                          + fv["cost"] + "," + fv.get("gpu_util", "") + ","
                          + fv.get("gpu_count", "").rstrip("i") + "\n")
    if out:
        out.close()
    top_runs = sorted(per_run.items(), key=lambda kv: (-kv[1], kv[0]))
    q2_run = top_runs[0][0]
    return {
        "points": points,
        "start": start,
        "end": end,
        "q2_run": q2_run,
        "runs": len(per_run),
        "q1": dict(top_runs[:20]),
        "q2": {str(h): u for (r, h), u in per_run_hour.items() if r == q2_run},
        "q3": {f"{c}|{a}|{d}": u for (c, a, d), u in per_cloud_account_day.items()},
        "q4": dict(sorted(per_resource.items(), key=lambda kv: (-kv[1], kv[0]))[:10]),
        "q5": {r: u * 12 for r, u in per_run_5m.items() if u * 12 > Q5_THRESHOLD * UNITS},
    }


# ---------------------------------------------------------------------------------------
# Query texts.


def influxql_queries(ref):
    s, e, run = ref["start"], ref["end"], ref["q2_run"]
    t = lambda ns: "'" + rfc3339(ns) + "'"  # noqa: E731
    # bench/query_bench.cc's q1-q5, with now() replaced by the data's end (the servers' clock
    # is not the data's) and burnrate's ORDER BY-aggregate extension replaced by top() over a
    # subquery (its q1b form), which InfluxDB 1.x also speaks.
    return {
        "q1": "SELECT top(total, run_id, 20) FROM (SELECT sum(cost) AS total FROM cost "
              "GROUP BY run_id)",
        "q2": f"SELECT sum(cost) FROM cost WHERE run_id = '{run}' AND time >= {t(s)} AND "
              f"time < {t(e)} GROUP BY time(1h) fill(none)",
        "q3": f"SELECT sum(cost) FROM cost WHERE time >= {t(s)} AND time < {t(e)} GROUP BY "
              "cloud, account, time(1d)",
        "q4": f"SELECT top(total, resource, 10) FROM (SELECT sum(cost) AS total FROM cost "
              f"WHERE time >= {t(e - 7 * DAY)} AND time < {t(e)} GROUP BY resource)",
        "q5": f"SELECT per_hour FROM (SELECT sum(cost) * 12 AS per_hour FROM cost WHERE "
              f"time >= {t(e - 5 * MINUTE)} AND time < {t(e)} GROUP BY run_id) WHERE "
              f"per_hour > {Q5_THRESHOLD} GROUP BY run_id",
    }


def metricsql_queries(ref):
    """(kind, params) per query. VictoriaMetrics windows are (t - w, t]; `offset 1ms` at the
    bucket's end makes them [bucket start, bucket end) for millisecond timestamps."""
    s, e, run = ref["start"], ref["end"], ref["q2_run"]
    span_s = (e - s) // NS
    es = e // NS
    return {
        "q1": ("query", {"query": f"topk(20, sum by (run_id) (sum_over_time(cost_cost[{span_s}s]"
                                  " offset 1ms)))", "time": str(es)}),
        "q2": ("query_range", {"query": f'sum(sum_over_time(cost_cost{{run_id="{run}"}}[1h] '
                                        'offset 1ms))',
                               "start": str(s // NS + 3600), "end": str(es), "step": "3600"}),
        "q3": ("query_range", {"query": "sum by (cloud, account) (sum_over_time(cost_cost[1d] "
                                        "offset 1ms))",
                               "start": str(s // NS + 86400), "end": str(es), "step": "86400"}),
        "q4": ("query", {"query": "topk(10, sum by (resource) (sum_over_time(cost_cost[7d] "
                                  "offset 1ms)))", "time": str(es)}),
        "q5": ("query", {"query": "sum by (run_id) (sum_over_time(cost_cost[5m] offset 1ms)) * 12"
                                  f" > {Q5_THRESHOLD}", "time": str(es)}),
    }


def sql_queries(ref):
    s, e, run = ref["start"], ref["end"], ref["q2_run"]
    t = lambda ns: "TIMESTAMP '" + sql_ts(ns) + "'"  # noqa: E731
    return {
        "q1": "SELECT run_id, sum(cost) AS total FROM cost GROUP BY run_id "
              "ORDER BY total DESC LIMIT 20",
        "q2": "SELECT epoch_ms(time_bucket(INTERVAL '1 hour', time)) AS h, sum(cost) FROM cost "
              f"WHERE run_id = '{run}' AND time >= {t(s)} AND time < {t(e)} GROUP BY h ORDER BY h",
        "q3": "SELECT cloud, account, epoch_ms(date_trunc('day', time)) AS d, sum(cost) FROM cost "
              f"WHERE time >= {t(s)} AND time < {t(e)} GROUP BY ALL ORDER BY ALL",
        "q4": f"SELECT resource, sum(cost) AS total FROM cost WHERE time >= {t(e - 7 * DAY)} AND "
              f"time < {t(e)} GROUP BY resource ORDER BY total DESC LIMIT 10",
        "q5": "SELECT run_id, sum(cost) * 12 AS per_hour FROM cost WHERE "
              f"time >= {t(e - 5 * MINUTE)} AND time < {t(e)} GROUP BY run_id "
              f"HAVING per_hour > {Q5_THRESHOLD}",
    }


# ---------------------------------------------------------------------------------------
# Answer normalisation: every system's answer to a query becomes {key: Decimal}.


def influx_answer(q, body):
    """InfluxDB 1.x JSON (numbers parsed as Decimal, so burnrate's exact decimals stay exact)."""
    doc = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    res = doc["results"][0]
    if "error" in res:
        raise ValueError(res["error"])
    out = {}
    for series in res.get("series", []):
        cols = series["columns"]
        tags = series.get("tags", {})
        for row in series["values"]:
            r = dict(zip(cols, row))
            if q == "q1":
                out[r["run_id"]] = r["top"]
            elif q == "q2":
                if r["sum"] is not None:
                    out[str(int(r["time"]))] = r["sum"]
            elif q == "q3":
                if r["sum"] is not None:
                    out[f"{tags['cloud']}|{tags['account']}|{int(r['time'])}"] = r["sum"]
            elif q == "q4":
                out[r["resource"]] = r["top"]
            elif q == "q5":
                out[tags["run_id"]] = r["per_hour"]
    return out


def vm_answer(q, body):
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise ValueError(body[:300])
    out = {}
    for item in doc["data"]["result"]:
        m = item["metric"]
        if q in ("q2", "q3"):
            for ts, v in item["values"]:
                start_ns = (int(ts) - (3600 if q == "q2" else 86400)) * NS
                key = str(start_ns) if q == "q2" else f"{m['cloud']}|{m['account']}|{start_ns}"
                out[key] = Decimal(v)
        else:
            tag = {"q1": "run_id", "q4": "resource", "q5": "run_id"}[q]
            out[m[tag]] = Decimal(item["value"][1])
    return out


def duckdb_answer(q, rows):
    out = {}
    for row in rows:
        if q in ("q1", "q4", "q5"):
            out[row[0]] = Decimal(str(row[1]))
        elif q == "q2":
            out[str(int(row[0]) * 1_000_000)] = Decimal(str(row[1]))
        elif q == "q3":
            out[f"{row[0]}|{row[1]}|{int(row[2]) * 1_000_000}"] = Decimal(str(row[1 + 2]))
    return out


def check_answer(ref, q, got, exact):
    """'' when `got` matches the reference, else what differs."""
    want = {k: units_to_decimal(u) for k, u in ref[q].items()}
    if set(got) != set(want):
        missing = sorted(set(want) - set(got))[:3]
        extra = sorted(set(got) - set(want))[:3]
        # A top-N whose last place ties with the next one may name another key.
        return f"keys differ: {len(got)} vs {len(want)} expected; missing {missing} extra {extra}"
    for k, w in want.items():
        g = got[k]
        if exact:
            if g != w:
                return f"{k}: {g} != exact {w}"
        elif w == 0:
            if abs(g) > Decimal("1e-12"):
                return f"{k}: {g} != 0"
        elif abs((g - w) / w) > Decimal("1e-9"):
            return f"{k}: {g} vs {w} (relative error {abs((g - w) / w):.2e})"
    return ""


# ---------------------------------------------------------------------------------------
# Processes.


class Server:
    """A process started by this driver; stopped by its own pid only."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.log_file = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE if name == "burnrate" else
                                     self.log_file, stderr=self.log_file, env=env,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.peak = None

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.alive():
            self.peak = vm_hwm(self.pid)
            os.kill(self.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name}: still running {timeout} s after {sig.name}; killing pid {self.pid}")
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


def wait_http(port, path, server, timeout=60, ok=(200, 204)):
    try:
        _wait_http(port, path, server, timeout, ok)
    except BaseException:
        server.stop()
        raise


def _wait_http(port, path, server, timeout, ok):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited during start (see its log)")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status in ok:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer {path} within {timeout} s")


def http_request(conn, method, target, body=None, headers=None):
    conn.request(method, target, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def loadgen(args, port, path, lp):
    cmd = [args.loadgen, "--url", f"http://127.0.0.1:{port}", "--path", path, "--file", lp,
           "--connections", str(args.connections), "--batch-lines", str(args.batch_lines)]
    before = os.times()
    r = subprocess.run(cmd, capture_output=True, text=True)
    after = os.times()
    if r.returncode != 0:
        raise RuntimeError(f"load generator failed: {r.stderr.strip()[-500:]}")
    out = json.loads(r.stdout)
    # The client's own CPU time: evidence that it is not what limits the rate.
    out["client_cpu_s"] = round((after.children_user - before.children_user) +
                                (after.children_system - before.children_system), 3)
    return out


def settle(path, quiet_s, max_s):
    """Waits until the directory's size has not changed for quiet_s seconds (max_s at most)."""
    t0 = time.time()
    last = dir_bytes(path)
    stable_since = time.time()
    while time.time() - t0 < max_s:
        time.sleep(1)
        now = dir_bytes(path)
        if now != last:
            last = now
            stable_since = time.time()
        elif time.time() - stable_since >= quiet_s:
            break
    return time.time() - t0


def time_queries(args, fetch, parse):
    """fetch(q) -> response body, timed; parse(q, body) -> answer, not timed. 1 warm-up and
    args.runs measured runs per query; returns ({q: [ms]}, {q: answer of the last run})."""
    times, answers = {}, {}
    for q in QUERY_NAMES:
        body = fetch(q)  # warm-up
        ms = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            body = fetch(q)
            ms.append((time.perf_counter() - t0) * 1000)
        times[q] = ms
        answers[q] = parse(q, body)
    return times, answers


# ---------------------------------------------------------------------------------------
# Contenders.


def run_http_system(args, name, ref, lp, tmp, start, write_path, query_fn, answer_fn,
                    before_queries=None, stop_signal=signal.SIGTERM, restart=False):
    """Shared life cycle of the HTTP contenders: start, ingest, settle, query, stop, measure.
    With `restart`, the queries just after ingest are kept as result["unflushed"], and the
    server is started again on the same directory (its stop flushed everything), left to
    settle, and queried again: that second run is the system's settled figure."""
    result = {"system": name, "load_before": loadavg()}
    server, port, data_dir = start()
    try:
        log(f"{name}: ingesting {ref['points']:,} points through {write_path} "
            f"({args.connections} connections, {args.batch_lines} lines per batch)")
        lg = loadgen(args, port, write_path, lp)
        result["ingest"] = lg
        result["load_ingest"] = loadavg()
        log(f"{name}: {lg['points_per_s']:,.0f} points/s acknowledged ({lg['seconds']:.1f} s, "
            f"{lg['retries']} retries, load generator CPU {lg['client_cpu_s']:.2f} s); "
            "waiting for compaction to settle")
        if before_queries:
            before_queries(port)
        result["settle_s"] = settle(data_dir, args.settle_quiet, args.settle_max)
        result["bytes_settled"] = dir_bytes(data_dir)
        times, checks = query_phase(args, name, ref, port, query_fn, answer_fn)
        result["load_after"] = loadavg()
    finally:
        rc = server.stop(stop_signal)
    peak = server.peak
    if restart:
        result["unflushed"] = {"query_ms": times, "checks": checks,
                               "bytes": result["bytes_settled"]}
        log(f"{name}: unflushed medians " + ", ".join(
            f"{q} {fmt_ms(median(times[q]))} ms" for q in QUERY_NAMES) +
            f"; restarting on the flushed directory")
        if rc != 0:
            result["stop_rc"] = rc
        server, port, _ = start()
        try:
            result["settle_s_restart"] = settle(data_dir, args.settle_quiet, args.settle_max)
            times, checks = query_phase(args, name, ref, port, query_fn, answer_fn)
            result["load_after"] = loadavg()
        finally:
            rc2 = server.stop(stop_signal)
        rc = rc or rc2
        peak = max(peak or 0, server.peak or 0) or None
    result["query_ms"] = times
    result["checks"] = checks
    result["peak_rss_bytes"] = peak
    result["stop_rc"] = rc
    result["bytes"] = dir_bytes(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def query_phase(args, name, ref, port, query_fn, answer_fn):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def fetch(q):
        status, body = query_fn(conn, q)
        if status != 200:
            raise RuntimeError(f"{q}: HTTP {status}: {body[:300]!r}")
        return body

    times, answers = time_queries(args, fetch, answer_fn)
    conn.close()
    checks = {q: check_answer(ref, q, answers[q], exact=(name == "burnrate"))
              for q in QUERY_NAMES}
    return times, checks


def start_burnrate(args, tmp):
    data_dir = os.path.join(tmp, "burnrate")
    server = Server("burnrate", [args.burnrated, "--data-dir", data_dir, "--http", "127.0.0.1:0",
                                 "--create-database", "bench", "--create-database-fsync",
                                 "always", "--quiet"], os.path.join(tmp, "burnrate.log"))
    line = server.proc.stdout.readline().decode()
    if "listening on http://" not in line:
        server.stop()
        raise BurnrateFailure(f"burnrated did not start: {line!r} (log {tmp}/burnrate.log)")
    port = int(line.split("listening on http://")[1].split()[0].rsplit(":", 1)[1])
    wait_http(port, "/ping", server)
    return server, port, data_dir


def influx_query_fn(db):
    def fn(conn, q_text):
        target = "/query?" + urllib.parse.urlencode({"db": db, "q": q_text, "epoch": "ns"})
        return http_request(conn, "GET", target)
    return fn


def run_burnrate(args, ref, lp, tmp):
    texts = influxql_queries(ref)
    fn = influx_query_fn("bench")
    return run_http_system(args, "burnrate", ref, lp, tmp, lambda: start_burnrate(args, tmp),
                           "/write?db=bench", lambda c, q: fn(c, texts[q]), influx_answer,
                           restart=True)


def start_influxdb(args, tmp):
    data_dir = os.path.join(tmp, "influxdb")
    os.makedirs(data_dir)
    port, rpc = free_port(), free_port()
    cfg = os.path.join(tmp, "influxdb.conf")
    with open(cfg, "w") as f:
        f.write(f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{data_dir}/meta"
[data]
  dir = "{data_dir}/data"
  wal-dir = "{data_dir}/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10s"
  compact-full-write-cold-duration = "10s"
  max-series-per-database = 0
  max-values-per-tag = 0
[coordinator]
  write-timeout = "600s"
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
""")
    server = Server("influxdb", ["influxd", "-config", cfg], os.path.join(tmp, "influxdb.log"))
    wait_http(port, "/ping", server)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, body = http_request(c, "POST", "/query?" + urllib.parse.urlencode(
            {"q": "CREATE DATABASE bench"}))
        c.close()
    except OSError as e:
        status, body = 0, str(e).encode()
    if status != 200:
        server.stop()
        raise PeerFailure(f"influxdb: CREATE DATABASE: {status} {body[:200]!r}")
    return server, port, data_dir


def run_influxdb(args, ref, lp, tmp):
    texts = influxql_queries(ref)
    fn = influx_query_fn("bench")
    return run_http_system(args, "influxdb", ref, lp, tmp, lambda: start_influxdb(args, tmp),
                           "/write?db=bench&precision=ns", lambda c, q: fn(c, texts[q]),
                           influx_answer)


def start_vm(args, tmp):
    data_dir = os.path.join(tmp, "victoriametrics")
    port = free_port()
    server = Server("victoriametrics", [
        "victoria-metrics", f"-storageDataPath={data_dir}", f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y", "-search.disableCache", "-search.maxUniqueTimeseries=100000000",
        "-search.maxQueryDuration=600s", "-search.maxSamplesPerQuery=100000000000",
        "-search.maxPointsPerTimeseries=1000000", "-loggerLevel=ERROR",
        "-memory.allowedPercent=60"], os.path.join(tmp, "victoriametrics.log"))
    wait_http(port, "/health", server)
    return server, port, data_dir


def run_vm(args, ref, lp, tmp):
    queries = metricsql_queries(ref)

    def query_fn(conn, q):
        kind, params = queries[q]
        p = dict(params, nocache="1")
        return http_request(conn, "GET", f"/api/v1/{kind}?" + urllib.parse.urlencode(p))

    def before_queries(port):
        # Its documented full merge, so that bytes on disk are its settled best.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        time.sleep(3)  # in-memory parts reach disk about every second
        month = dt.datetime.fromtimestamp(ref["start"] // NS, tz=dt.timezone.utc)
        for m in sorted({month.strftime("%Y_%m"), dt.datetime.fromtimestamp(
                (ref["end"] - 1) // NS, tz=dt.timezone.utc).strftime("%Y_%m")}):
            http_request(c, "GET", f"/internal/force_merge?partition_prefix={m}")
        c.close()

    return run_http_system(args, "victoriametrics", ref, lp, tmp, lambda: start_vm(args, tmp),
                           "/write?precision=ns", query_fn, vm_answer,
                           before_queries=before_queries, stop_signal=signal.SIGINT)


def run_duckdb(args, ref, csv, tmp):
    result = {"system": "duckdb", "load_before": loadavg()}
    data_dir = os.path.join(tmp, "duckdb")
    os.makedirs(data_dir)
    spec = {"db": os.path.join(data_dir, "bench.duckdb"), "csv": csv, "queries": sql_queries(ref),
            "runs": args.runs, "threads": 0}
    spec_path = os.path.join(tmp, "duckdb-spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, DUCKDB_NODE_API=os.path.join(
        os.path.abspath(args.node_dir), "node_modules", "@duckdb", "node-api", "lib", "index.js"))
    log(f"duckdb: read_csv of {ref['points']:,} rows into a database file, then q1-q5")
    r = subprocess.run(["node", os.path.join(REPO, "bench", "compare", "duckdb_bench.mjs"),
                        spec_path], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise PeerFailure(f"duckdb: {r.stderr.strip()[-800:]}")
    out = json.loads(r.stdout)
    if int(out["count"]) != ref["points"]:
        raise PeerFailure(f"duckdb loaded {out['count']} rows, expected {ref['points']}")
    secs = out["load_seconds"]
    result["ingest"] = {"points": ref["points"], "seconds": secs,
                        "points_per_s": ref["points"] / secs}
    result["load_ingest"] = loadavg()
    result["query_ms"] = {q: out["queries"][q]["ms"] for q in QUERY_NAMES}
    result["checks"] = {q: check_answer(ref, q, duckdb_answer(q, out["queries"][q]["rows"]),
                                        exact=False) for q in QUERY_NAMES}
    result["exact"] = all(check_answer(ref, q, duckdb_answer(q, out["queries"][q]["rows"]),
                                       exact=True) == "" for q in QUERY_NAMES)
    result["peak_rss_bytes"] = out["peak_rss_bytes"]
    result["bytes"] = dir_bytes(data_dir)
    result["load_after"] = loadavg()
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


GUARANTEE = {
    "burnrate": "204 after the WAL is fsynced (fsync policy always)",
    "influxdb": "204 after the WAL is fsynced (wal-fsync-delay 0s)",
    "victoriametrics": "204 when buffered in memory; on disk about a second later",
    "duckdb": "read_csv load committed and checkpointed (not HTTP)",
}


# ---------------------------------------------------------------------------------------
# Report.


def median(xs):
    return statistics.median(xs)


def fmt_ms(ms):
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def ratio_text(x):
    if x < 0.1:
        return f"{x:.2f}x"
    return f"{x:.1f}x" if x < 10 else f"{x:.0f}x"


def make_table(results):
    """Markdown table: one row per system, then burnrate's ratio to each peer."""
    cols = ["system", "ingest points/s", "bytes/point", "peak memory MB"] + \
        [f"{q} ms" for q in QUERY_NAMES] + ["answers"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    points = None
    for r in results:
        if "error" in r:
            lines.append(f"| {r['system']} | failed: {r['error'][:120]} |" + " |" * (len(cols) - 2))
            continue
        points = r["ingest"]["points"]
        bad = [q for q in QUERY_NAMES if r["checks"][q]]
        exact_note = "exact" if r["system"] == "burnrate" or r.get("exact") else "within 1e-9"
        answers = ("all match, " + exact_note) if not bad else "WRONG: " + ", ".join(bad)
        row = [r["system"], f"{r['ingest']['points_per_s']:,.0f}",
               f"{r['bytes'] / points:.2f}",
               f"{r['peak_rss_bytes'] / 2**20:,.0f}" if r.get("peak_rss_bytes") else "?"]
        row += [fmt_ms(median(r["query_ms"][q])) for q in QUERY_NAMES] + [answers]
        lines.append("| " + " | ".join(row) + " |")
        if "unflushed" in r:
            u = r["unflushed"]
            bad = [q for q in QUERY_NAMES if u["checks"][q]]
            row = [f"{r['system']}, just after ingest (memtable, no restart)", "same run",
                   f"{u['bytes'] / points:.2f} (incl. WAL)", "same run"]
            row += [fmt_ms(median(u["query_ms"][q])) for q in QUERY_NAMES]
            row += ["all match, exact" if not bad else "WRONG: " + ", ".join(bad)]
            lines.append("| " + " | ".join(row) + " |")
    br = next((r for r in results if r["system"] == "burnrate" and "error" not in r), None)
    if br:
        for r in results:
            if r is br or "error" in r:
                continue
            row = [f"burnrate vs {r['system']}",
                   ratio_text(br["ingest"]["points_per_s"] / r["ingest"]["points_per_s"]),
                   ratio_text(r["bytes"] / br["bytes"]),
                   ratio_text(r["peak_rss_bytes"] / br["peak_rss_bytes"])
                   if r.get("peak_rss_bytes") and br.get("peak_rss_bytes") else "?"]
            row += [ratio_text(median(r["query_ms"][q]) / median(br["query_ms"][q]))
                    for q in QUERY_NAMES] + [""]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def make_svg(results, title):
    """Two panels, no dependencies: ingest rate per system, and q1-q5 median latency
    per system on a log scale."""
    ok = [r for r in results if "error" not in r]
    colors = {"burnrate": "#d9480f", "influxdb": "#1c7ed6", "victoriametrics": "#7048e8",
              "duckdb": "#2b8a3e", "clickhouse": "#868e96"}
    W, H = 860, 420
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">'
           f'{title}</text>']
    # Panel 1: ingest.
    x0, y0, pw, ph = 60, 50, 250, 300
    maxr = 1.15 * max(r["ingest"]["points_per_s"] for r in ok)
    short = {"victoriametrics": "VictoriaM.", "influxdb": "InfluxDB", "duckdb": "DuckDB*"}
    out.append(f'<text x="{x0 + pw / 2}" y="{y0 - 8}" text-anchor="middle">ingest, M points/s '
               '(higher is better)</text>')
    out.append(f'<text x="{x0}" y="{y0 + ph + 34}" font-size="10">* DuckDB: bulk CSV load, '
               'not HTTP</text>')
    out.append(f'<line x1="{x0}" y1="{y0 + ph}" x2="{x0 + pw}" y2="{y0 + ph}" stroke="black"/>')
    bw = pw / max(1, len(ok))
    for i, r in enumerate(ok):
        v = r["ingest"]["points_per_s"]
        h = ph * v / maxr
        x = x0 + i * bw + bw * 0.15
        out.append(f'<rect x="{x:.1f}" y="{y0 + ph - h:.1f}" width="{bw * 0.7:.1f}" '
                   f'height="{h:.1f}" fill="{colors.get(r["system"], "#555")}"/>')
        out.append(f'<text x="{x + bw * 0.35:.1f}" y="{y0 + ph - h - 4:.1f}" '
                   f'text-anchor="middle">{v / 1e6:.2f}</text>')
        out.append(f'<text x="{x + bw * 0.35:.1f}" y="{y0 + ph + 16:.1f}" '
                   f'text-anchor="middle" font-size="11">'
                   f'{short.get(r["system"], r["system"])}</text>')
    # Panel 2: query latency, log scale.
    x0, pw = 380, 450
    meds = [median(r["query_ms"][q]) for r in ok for q in QUERY_NAMES]
    lo = 10 ** (math.floor(min(math.log10(max(m, 0.01)) for m in meds)))
    hi = 10 ** (math.floor(max(math.log10(max(m, 0.01)) for m in meds)) + 1)
    span = math.log10(hi) - math.log10(lo)
    out.append(f'<text x="{x0 + pw / 2}" y="{y0 - 8}" text-anchor="middle">median query '
               'latency, ms (log scale, lower is better)</text>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + ph}" stroke="black"/>')
    out.append(f'<line x1="{x0}" y1="{y0 + ph}" x2="{x0 + pw}" y2="{y0 + ph}" stroke="black"/>')
    d = lo
    while d <= hi:
        y = y0 + ph - ph * (math.log10(d) - math.log10(lo)) / span
        out.append(f'<line x1="{x0 - 4}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        label = f"{d:g}"
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        d *= 10
    gw = pw / len(QUERY_NAMES)
    bw = gw * 0.8 / max(1, len(ok))
    for qi, q in enumerate(QUERY_NAMES):
        for i, r in enumerate(ok):
            m = max(median(r["query_ms"][q]), lo)
            h = ph * (math.log10(m) - math.log10(lo)) / span
            x = x0 + qi * gw + gw * 0.1 + i * bw
            out.append(f'<rect x="{x:.1f}" y="{y0 + ph - h:.1f}" width="{bw:.1f}" '
                       f'height="{h:.1f}" fill="{colors.get(r["system"], "#555")}">'
                       f'<title>{r["system"]} {q}: {median(r["query_ms"][q]):.2f} ms</title>'
                       '</rect>')
        out.append(f'<text x="{x0 + qi * gw + gw / 2:.1f}" y="{y0 + ph + 16}" '
                   f'text-anchor="middle">{q}</text>')
    # Legend.
    lx = 60
    for r in ok:
        out.append(f'<rect x="{lx}" y="{H - 28}" width="12" height="12" '
                   f'fill="{colors.get(r["system"], "#555")}"/>')
        out.append(f'<text x="{lx + 16}" y="{H - 18}">{r["system"]}</text>')
        lx += 140
    out.append("</svg>")
    return "\n".join(out) + "\n"


def machine_info():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 2**20
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Linux {platform.release()}"


def versions(args, systems):
    v = {}
    for system, package in (("influxdb", "influxdb"), ("victoriametrics", "victoria-metrics")):
        if system in systems:
            r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                               capture_output=True, text=True)
            v[system] = f"{package} {r.stdout.strip() or '?'} (Debian)"
    if "duckdb" in systems:
        try:
            with open(os.path.join(args.node_dir, "node_modules", "@duckdb", "node-api",
                                   "package.json")) as f:
                v["duckdb"] = "@duckdb/node-api " + json.load(f)["version"] + " (npm)"
        except OSError:
            pass
    return v


def write_doc_block(doc, marker, text):
    """Replaces the text between <!-- marker:begin --> and <!-- marker:end --> in doc."""
    with open(doc) as f:
        content = f.read()
    b, e = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    if b not in content or e not in content:
        log(f"{doc} has no {b} ... {e} block; not updated")
        return
    head, rest = content.split(b, 1)
    _, tail = rest.split(e, 1)
    with open(doc, "w") as f:
        f.write(head + b + "\n" + text.rstrip("\n") + "\n" + e + tail)


def report(args, saved, systems):
    results = saved["results"]
    size = saved["size"]
    table = make_table(results)
    loads = "; ".join(f"{r['system']} {r.get('load_before')} / {r.get('load_ingest')} / "
                      f"{r.get('load_after')}" for r in results if "error" not in r)
    print()
    print(f"burnrate end-to-end comparison, {saved['started']}: {size}")
    print(f"machine: {saved['machine']}")
    print("load average (1/5/15 min) per system, before / after ingest / after queries: " + loads)
    print()
    print(table)
    print()
    print("Ratios are burnrate's advantage (peer / burnrate, or burnrate / peer for ingest): "
          "above 1x burnrate is better.")
    for r in results:
        if r["system"] in GUARANTEE:
            print(f"  {r['system']}: {GUARANTEE[r['system']]}")
    if args.doc:
        tag = "small" if saved.get("small") else "default"
        svg_name = f"benchmarks-{tag}.svg"
        with open(os.path.join(os.path.dirname(os.path.abspath(args.doc)), svg_name), "w") as f:
            f.write(make_svg(results, f"burnrate vs peers, {size}"))
        vers = ", ".join(f"{k} {v}" for k, v in saved["versions"].items())
        argv = " ".join(saved.get("argv") or []) or "(defaults)"
        block = (f"Run {saved['started']}, {size}, `compare.py {argv}`.\n"
                 f"Machine: {saved['machine']}. Peers: {vers or 'none'}.\n"
                 f"Load average (1/5/15 min) before / after ingest / after queries: {loads}.\n\n"
                 f"{table}\n\n![chart]({svg_name})\n")
        write_doc_block(args.doc, f"results:{tag}", block)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small", action="store_true",
                   help="7 days x 100 series (1,008,000 points) instead of 14 days x 1,000")
    p.add_argument("--days", type=int)
    p.add_argument("--series", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--systems", default=",".join(SYSTEMS),
                   help="comma-separated subset of " + ",".join(SYSTEMS))
    p.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"))
    p.add_argument("--work", default=os.path.join(REPO, "build", "bench-compare"),
                   help="generated data (kept for reruns) and the systems' temporary data")
    p.add_argument("--node-dir", default=os.path.join(REPO, "build", "bench-compare", "node"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--batch-lines", type=int, default=10_000)
    p.add_argument("--settle-quiet", type=float, default=20,
                   help="seconds without a change of the data directory's size that count as "
                        "compaction settled")
    p.add_argument("--settle-max", type=float, default=300)
    p.add_argument("--results", help="write the results as JSON here")
    p.add_argument("--prepare-only", action="store_true",
                   help="generate the data and the reference, then stop")
    p.add_argument("--from-results", metavar="JSON",
                   help="run nothing: print the table (and with --doc, refresh the doc and "
                        "chart) from the results of an earlier run")
    p.add_argument("--doc", help="update the results block of this markdown file "
                                 "(docs/benchmarks.md) and write the chart beside it")
    args = p.parse_args()
    if args.days is None:
        args.days = 7 if args.small else 14
    if args.series is None:
        args.series = 100 if args.small else 1000
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s not in SYSTEMS:
            p.error(f"unknown system {s}")
    if args.from_results:
        with open(args.from_results) as f:
            saved = json.load(f)
        report(args, saved, systems)
        return 0
    args.burnrate = os.path.join(args.build_dir, "tools", "burnrate")
    args.burnrated = os.path.join(args.build_dir, "server", "burnrated")
    args.loadgen = os.path.join(args.build_dir, "bench", "burnrate-loadgen")
    for b in (args.burnrate, args.burnrated, args.loadgen):
        if not os.access(b, os.X_OK):
            log(f"missing {b}: build first (make bench-compare does)")
            return 3
    args.need_csv = "duckdb" in systems
    os.makedirs(args.work, exist_ok=True)
    run_started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lp, csv, ref = prepare_data(args, args.work)
    log(f"data: {ref['points']:,} points, {ref['runs']:,} runs, span "
        f"{rfc3339(ref['start'])} .. {rfc3339(ref['end'])}, q2 run {ref['q2_run']}, "
        f"q5 answers {len(ref['q5'])} runs")
    if args.prepare_only:
        return 0

    tmp = tempfile.mkdtemp(prefix="run-", dir=args.work)
    results = []
    burnrate_failed = False
    peer_failed = False
    runners = {"burnrate": lambda: run_burnrate(args, ref, lp, tmp),
               "influxdb": lambda: run_influxdb(args, ref, lp, tmp),
               "victoriametrics": lambda: run_vm(args, ref, lp, tmp),
               "duckdb": lambda: run_duckdb(args, ref, csv, tmp)}
    for s in systems:
        log(f"== {s} (load average {loadavg()})")
        try:
            r = runners[s]()
            bad = {q: m for q, m in r["checks"].items() if m}
            bad.update({f"{q} (unflushed)": m
                        for q, m in r.get("unflushed", {}).get("checks", {}).items() if m})
            for q, m in bad.items():
                log(f"{s}: {q} WRONG: {m}")
            if s == "burnrate" and (bad or r.get("stop_rc") not in (0, None)):
                burnrate_failed = True
                if r.get("stop_rc") not in (0, None):
                    log(f"burnrate: burnrated exited {r['stop_rc']} on SIGTERM")
            elif bad:
                peer_failed = True
            log(f"{s}: medians " + ", ".join(f"{q} {fmt_ms(median(r['query_ms'][q]))} ms"
                                             for q in QUERY_NAMES) +
                f"; {r['bytes'] / ref['points']:.2f} bytes/point; peak "
                f"{(r.get('peak_rss_bytes') or 0) / 2**20:.0f} MB")
        except BurnrateFailure as e:
            log(f"burnrate FAILED: {e}")
            r = {"system": s, "error": str(e)}
            burnrate_failed = True
        except Exception as e:  # noqa: BLE001 - a peer's failure is reported, not fatal
            log(f"{s} FAILED: {e}")
            r = {"system": s, "error": str(e)}
            if s == "burnrate":
                burnrate_failed = True
            else:
                peer_failed = True
        results.append(r)
    shutil.rmtree(tmp, ignore_errors=True)

    size = f"{args.days} days x {args.series} series = {ref['points']:,} points (seed {args.seed})"
    saved = {"started": run_started, "size": size, "small": args.small, "argv": sys.argv[1:],
             "machine": machine_info(), "versions": versions(args, systems),
             "results": results,
             "reference": {k: ref[k] for k in ("points", "start", "end", "q2_run", "runs")},
             "queries": {"influxql": influxql_queries(ref), "sql": sql_queries(ref),
                         "metricsql": metricsql_queries(ref)}}
    if args.results:
        with open(args.results, "w") as f:
            json.dump(saved, f, indent=1, default=str)
    report(args, saved, systems)
    if burnrate_failed:
        return 1
    return 3 if peer_failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(3)
    except Exception as e:  # noqa: BLE001 - outside a system's run: the environment's problem
        log(f"compare: {type(e).__name__}: {e}")
        sys.exit(3)
