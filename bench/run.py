#!/usr/bin/env python3
"""naptrack's benchmark harness: one command runs every case and its bare-engine baseline.

    bench/run.py                      # N = 10^4, 10^5, 10^6, three runs each
    bench/run.py --sizes 10000 --repeat 5 --no-postgres --no-http

For each N it generates the contract's CSV files (a plan of 200 activities, 2,000 budget lines
and N disbursements, from a fixed seed) with `cargo run --release --example bench-data`, then
times, side by side in the same run:

- `naptrack import DIR` into a fresh SQLite file, against sqlite3's `.import` of the same
  disbursements.csv into a bare table (and, with PostgreSQL, against psql's `\\copy`);
- the execution report by activity and by month, against the bare GROUP BY on the same database;
- the flags; the export of all disbursements;
- with --http: POSTs of disbursements with 32 connections and GETs of the report (wrk);
- with --first-run: a newcomer's first `cargo run` in a fresh clone, cold, to the server answering.

Every case runs --repeat times; the medians and their ratios to the baselines go to standard
output and to bench/results/<N>.json. The harness checks that the report's grand totals equal
the generator's exact totals (expected.json) and stops if they differ.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
RESULTS = os.path.join(ROOT, "bench", "results")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
NAPTRACK = os.path.join(TARGET, "release", "naptrack")
GENERATOR = os.path.join(TARGET, "release", "examples", "bench-data")


def run_timed(args, env=None, stdin=None, stdout=subprocess.DEVNULL):
    """Runs a command; returns (seconds, peak resident memory in MiB). Fails loudly."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({proc.returncode}):\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024


def naptrack_env(database_url):
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["ROCKET_PROFILE"] = "release"
    env.setdefault("ROCKET_SECRET_KEY", "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=")
    return env


def naptrack_output(args, database_url):
    return subprocess.run(
        [NAPTRACK, *args], env=naptrack_env(database_url), check=True, capture_output=True
    ).stdout.decode()


def sqlite_url(path):
    return f"sqlite://{path}"


def median_of(samples):
    return statistics.median(samples)


class Case:
    """One measured case: its runs, median and the baseline it is compared with."""

    def __init__(self, name, baseline=None, target=None):
        self.name, self.baseline, self.target = name, baseline, target
        self.seconds, self.rss = [], []

    def add(self, seconds, rss=None):
        self.seconds.append(seconds)
        if rss is not None:
            self.rss.append(rss)

    def summary(self, cases):
        s = {"median_s": round(median_of(self.seconds), 4), "runs_s": [round(x, 4) for x in self.seconds]}
        if self.rss:
            s["peak_rss_mib"] = round(max(self.rss), 1)
        if self.baseline and self.baseline in cases and cases[self.baseline].seconds:
            s["ratio"] = round(s["median_s"] / median_of(cases[self.baseline].seconds), 2)
            s["baseline"] = self.baseline
        if self.target:
            s["target"] = self.target
        return s


def generate(n):
    folder = os.path.join(DATA, str(n))
    if not os.path.exists(os.path.join(folder, "expected.json")):
        print(f"generating {n} disbursements in {folder}", flush=True)
        subprocess.run([GENERATOR, "--disbursements", str(n), "--out", folder], check=True)
    with open(os.path.join(folder, "expected.json")) as f:
        return folder, json.load(f)


def check_totals(report_json, expected, where):
    totals = json.loads(report_json)["totals"]
    for column in ("allocated", "disbursed"):
        if totals[column] != expected[column]:
            sys.exit(f"bench: {where}: report {column} {totals[column]} != generated {expected[column]}")


def bare_sqlite_import(csv_path, work):
    db = os.path.join(work, "bare.db")
    if os.path.exists(db):
        os.remove(db)
    script = f".mode csv\n.import {csv_path} disbursements\n"
    return run_timed(["sqlite3", db], stdin=open_script(work, script))


def open_script(work, text):
    path = os.path.join(work, "script.sql")
    with open(path, "w") as f:
        f.write(text)
    return open(path)


def sqlite_query(db, sql, work):
    return run_timed(["sqlite3", db], stdin=open_script(work, sql + "\n"))


BARE_BY_ACTIVITY = (
    "SELECT b.activity_id, SUM(d.amount) FROM disbursements d "
    "JOIN budget_lines b ON b.id = d.budget_line_id WHERE d.plan_id = 1 GROUP BY b.activity_id;"
)
BARE_BY_MONTH = (
    "SELECT substr(d.date, 1, 7), SUM(d.amount) FROM disbursements d "
    "WHERE d.plan_id = 1 GROUP BY 1;"
)
BARE_BY_MONTH_PG = (
    "SELECT to_char(d.date, 'YYYY-MM'), SUM(d.amount) FROM disbursements d "
    "WHERE d.plan_id = 1 GROUP BY 1;"
)


def postgres_admin(url, sql):
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


def with_database(url, name):
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"bench: {url} did not answer")


WRK_POST = """
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  prefix = "W" .. id .. "-" .. os.time() .. "-"
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"plan_code":"BENCH","reference":"%s%d","budget_line_code":"BL-%04d","date":"2024-06-01","amount":"%d.25","currency":"EUR","payee_code":"INST-01"}',
    prefix, counter, (counter * 4) % 2000, counter % 5000 + 1)
  return wrk.format("POST", "/api/v1/disbursements", nil, body)
end
"""


def wrk(url, seconds, connections, token, script=None, work=None):
    """Runs wrk; returns (requests per second, p99 latency in ms, non-2xx responses)."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
            "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
    if script:
        path = os.path.join(work, "post.lua")
        with open(path, "w") as f:
            f.write(script)
        args += ["-s", path]
    out = subprocess.run(args + [url], check=True, capture_output=True).stdout.decode()
    rps = float(next(l for l in out.splitlines() if l.startswith("Requests/sec")).split()[1])
    p99 = next(l for l in out.splitlines() if l.strip().startswith("99%")).split()[1]
    p99_ms = float(p99[:-2]) if p99.endswith("ms") else (float(p99[:-2]) / 1000 if p99.endswith("us") else float(p99[:-1]) * 1000)
    errors = 0
    for line in out.splitlines():
        if "Non-2xx" in line:
            errors = int(line.split(":")[1])
    return rps, p99_ms, errors


def http_cases(work, cases):
    """Load on a server over loopback, on a copy of the SQLite database of the last size run:
    POSTs of new disbursements, then GETs of the execution report. Figures are rates."""
    if not shutil.which("wrk"):
        print("skipping HTTP cases: wrk not found (apt-get install wrk)")
        return
    db = os.path.join(work, "http.db")
    shutil.copy(os.path.join(work, "naptrack.db"), db)
    url = sqlite_url(db)
    token = naptrack_output(["user", "add", f"bench{time.time_ns()}@example.org", "--role", "recorder"], url).strip().splitlines()[-1]
    port = free_port()
    env = naptrack_env(url)
    env["ROCKET_PORT"] = str(port)
    env["ROCKET_LOG_LEVEL"] = "off"
    server = subprocess.Popen([NAPTRACK, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/v1/health")
        for name, path, script, target in [
            ("http POST disbursements (32 conns)", "/api/v1/disbursements", WRK_POST, ">= 2000 req/s, p99 < 50 ms"),
            ("http GET report (32 conns)", "/api/v1/reports/execution?by=activity", None, ">= 500 req/s at N=1e5"),
        ]:
            rps, p99, errors = wrk(f"{base}{path}", 10, 32, token, script, work)
            case = cases.setdefault(name, Case(name, target=target))
            case.add(1 / rps)  # seconds per request, so that medians and ratios read alike
            case.extra = {"rps": rps, "p99_ms": p99, "non_2xx": errors}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def sqlite_cases(n, folder, expected, work, repeat, cases):
    csv = os.path.join(folder, "disbursements.csv")
    case = lambda name, baseline=None, target=None: cases.setdefault(name, Case(name, baseline, target))
    db = os.path.join(work, "naptrack.db")
    for i in range(repeat):
        print(f"  sqlite run {i + 1}/{repeat}", flush=True)
        case("sqlite3 .import (bare table)").add(*bare_sqlite_import(csv, work))
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        # The schema first (migrations run at every start): the import is timed on its own.
        naptrack_output(["audit", "verify"], sqlite_url(db))
        case("naptrack import", "sqlite3 .import (bare table)", "<= 2x, < 150 MiB").add(
            *run_timed([NAPTRACK, "import", folder], env=naptrack_env(sqlite_url(db))))
        case("bare GROUP BY activity").add(*sqlite_query(db, BARE_BY_ACTIVITY, work))
        case("bare GROUP BY month").add(*sqlite_query(db, BARE_BY_MONTH, work))
        for dim in ("activity", "month"):
            report = os.path.join(work, f"report-{dim}.json")
            with open(report, "w") as out:
                case(f"report by {dim}", f"bare GROUP BY {dim}", "<= 1.5x").add(*run_timed(
                    [NAPTRACK, "report", "execution", "--by", dim, "--format", "json"],
                    env=naptrack_env(sqlite_url(db)), stdout=out))
            with open(report) as f:
                check_totals(f.read(), expected, f"SQLite, N={n}, by {dim}")
        case("flags", target="< 1 s").add(*run_timed(
            [NAPTRACK, "flags", "--as-of", "2024-07-01", "--format", "json"], env=naptrack_env(sqlite_url(db))))
        case("export disbursements", "naptrack import", "<= 1x").add(*run_timed(
            [NAPTRACK, "export", "disbursements", "-o", os.path.join(work, "export.csv")],
            env=naptrack_env(sqlite_url(db))))
    # The N recorded disbursements, no more: the report of every case read the same database.
    # Counted from a file, not held here: the harness stays small, so that the memory its
    # children report is their own.
    exported = os.path.join(work, "export.csv")
    with open(exported, "rb") as f:
        count = sum(1 for _ in f) - 1
    if count != n:
        sys.exit(f"bench: {count} disbursements stored, {n} generated")


def postgres_cases(n, folder, expected, work, repeat, cases, admin_url):
    csv = os.path.join(folder, "disbursements.csv")
    case = lambda name, baseline=None, target=None: cases.setdefault(name, Case(name, baseline, target))
    name = f"naptrack_bench_{os.getpid()}"
    url = with_database(admin_url, name)
    for i in range(repeat):
        print(f"  postgres run {i + 1}/{repeat}", flush=True)
        postgres_admin(admin_url, f"DROP DATABASE IF EXISTS {name}")
        postgres_admin(admin_url, f"CREATE DATABASE {name}")
        postgres_admin(url, "CREATE TABLE bare (plan_code text, reference text, budget_line_code text, date date, "
                            "amount numeric, currency text, payee_code text, description text, reverses text)")
        case("psql \\copy (bare table)").add(*run_timed(
            ["psql", url, "-q", "-c", f"\\copy bare FROM '{csv}' WITH (FORMAT csv, HEADER true)"]))
        naptrack_output(["audit", "verify"], url)
        case("naptrack import (PostgreSQL)", "psql \\copy (bare table)", "<= 2x").add(
            *run_timed([NAPTRACK, "import", folder], env=naptrack_env(url)))
        case("bare GROUP BY activity (PostgreSQL)").add(*run_timed(["psql", url, "-q", "-o", "/dev/null", "-c", BARE_BY_ACTIVITY]))
        case("bare GROUP BY month (PostgreSQL)").add(*run_timed(["psql", url, "-q", "-o", "/dev/null", "-c", BARE_BY_MONTH_PG]))
        for dim in ("activity", "month"):
            report = os.path.join(work, f"report-pg-{dim}.json")
            with open(report, "w") as out:
                case(f"report by {dim} (PostgreSQL)", f"bare GROUP BY {dim} (PostgreSQL)", "<= 1.5x").add(*run_timed(
                    [NAPTRACK, "report", "execution", "--by", dim, "--format", "json"],
                    env=naptrack_env(url), stdout=out))
            with open(report) as f:
                check_totals(f.read(), expected, f"PostgreSQL, N={n}, by {dim}")
        case("flags (PostgreSQL)", target="< 1 s").add(*run_timed(
            [NAPTRACK, "flags", "--as-of", "2024-07-01", "--format", "json"], env=naptrack_env(url)))
    postgres_admin(admin_url, f"DROP DATABASE IF EXISTS {name}")


def first_run():
    """A newcomer's first `cargo run`: a fresh clone of this checkout's HEAD and an empty target
    folder (the crates already downloaded), timed from the command to the server answering
    `GET /api/v1/health`. The target is five minutes."""
    with tempfile.TemporaryDirectory(prefix="naptrack-first-run-") as work:
        clone = os.path.join(work, "naptrack")
        subprocess.run(["git", "clone", "--quiet", ROOT, clone], check=True)
        port = free_port()
        env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, "target"), ROCKET_PORT=str(port))
        start = time.monotonic()
        server = subprocess.Popen(["cargo", "run", "--locked"], cwd=clone, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(f"http://127.0.0.1:{port}/api/v1/health", seconds=1800)
            seconds = time.monotonic() - start
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
    result = {"first_run_s": round(seconds, 1), "target_s": 300, "machine": machine()}
    with open(os.path.join(RESULTS, "first-run.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"{'first cargo run, fresh clone':<42}{seconds:>10.1f}{'':>8}  <= 300 s")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    sqlite = subprocess.run(["sqlite3", "--version"], capture_output=True).stdout.decode().split()[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1), "sqlite3": sqlite,
            "date": time.strftime("%Y-%m-%d")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("NAPTRACK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--http-size", type=int, default=100000, help="the N whose database the HTTP cases load")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--first-run", action="store_true",
                        help="also time a newcomer's first `cargo run` in a fresh clone (a cold build: minutes)")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "naptrack", "--example", "bench-data"], cwd=ROOT, check=True)
    for tool in ("sqlite3",):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found (apt-get install sqlite3)")
    os.makedirs(RESULTS, exist_ok=True)
    postgres = not args.no_postgres and shutil.which("psql") and subprocess.run(
        ["psql", args.postgres, "-c", "SELECT 1"], capture_output=True).returncode == 0
    if not args.no_postgres and not postgres:
        print(f"skipping PostgreSQL cases: cannot reach {args.postgres}")
    info = machine()
    print(json.dumps(info))
    if args.first_run:
        first_run()
    for n in [int(x) for x in args.sizes.split(",") if x]:
        folder, expected = generate(n)
        cases = {}
        with tempfile.TemporaryDirectory(prefix="naptrack-bench-") as work:
            print(f"N = {n}", flush=True)
            sqlite_cases(n, folder, expected, work, args.repeat, cases)
            if postgres:
                postgres_cases(n, folder, expected, work, args.repeat, cases, args.postgres)
            if not args.no_http and n == args.http_size:
                http_cases(work, cases)
        summary = {name: c.summary(cases) | getattr(c, "extra", {}) for name, c in cases.items()}
        result = {"n": n, "machine": info, "csv_mib": round(os.path.getsize(os.path.join(folder, "disbursements.csv")) / 2**20, 1),
                  "totals_checked": {"allocated": expected["allocated"], "disbursed": expected["disbursed"]}, "cases": summary}
        with open(os.path.join(RESULTS, f"{n}.json"), "w") as f:
            json.dump(result, f, indent=2)
        print(f"{'case':<42}{'median s':>10}{'ratio':>8}  target")
        for name, s in summary.items():
            ratio = f"{s['ratio']:.2f}" if "ratio" in s else ""
            extra = f" rps={s['rps']:.0f} p99={s['p99_ms']:.1f}ms non-2xx={s['non_2xx']}" if "rps" in s else ""
            rss = f" rss={s['peak_rss_mib']:.0f}MiB" if "peak_rss_mib" in s else ""
            print(f"{name:<42}{s['median_s']:>10.3f}{ratio:>8}  {s.get('target', '')}{extra}{rss}")


if __name__ == "__main__":
    main()
