#!/usr/bin/env python3
"""Runs the benchmark scenarios against build/release/sluice and prints one markdown table.

Called by bench/run.sh, which builds the programs and writes the data set first. Python's
standard library only. Every figure is the median of --runs runs; sluice and its baseline run
alternately, in the same session, on the same data file, so both see the same machine state.

  (a) max throughput: every event of the file over HTTP (keep-alive, NDJSON batches) until
      count() of the raw table reaches N. Baseline: ClickHouse's own JSONEachRow parser inserting
      the same file into the same table of the same embedded engine (INSERT ... SELECT FROM
      file()), sent through sluice's ClickHouse-compatible query endpoint so that no process
      start-up is timed.
  (b) ack latency at a fixed offered rate of half of (a)'s median. Baseline: the same batches at
      the same rate as synchronous ClickHouse HTTP inserts (INSERT ... FORMAT JSONEachRow)
      through the query endpoint, which also answer only once the rows are stored.
  (c) overload at 3x (a)'s median with a small WAL bound: 429s, and sluice's peak RSS next to
      its configured bounds and its peak RSS in (a).

CPU seconds are utime + stime of the sluice process (/proc/PID/stat), over the measured
interval only; peak RSS is its VmHWM.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Sluice:
    """One `sluice run` process on a fresh work folder, with the spec's knobs set."""

    def __init__(self, binary, template, folder, threads, max_disk_bytes, segment_bytes,
                 max_body_bytes):
        self.binary = binary
        self.folder = Path(folder)
        self.max_body_bytes = max_body_bytes
        self.threads = threads
        self.max_disk_bytes = max_disk_bytes
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        spec = template.read_text()
        for key, value in (("threads", threads), ("max_disk_bytes", max_disk_bytes),
                           ("segment_bytes", segment_bytes), ("max_body_bytes", max_body_bytes)):
            spec, count = re.subn(rf"(?m)^(\s+{key}:) \d+", rf"\g<1> {value}", spec)
            if count != 1:
                raise RuntimeError(f"bench/spec.yaml has no single '{key}:' line")
        self.spec = self.folder / "spec.yaml"
        self.spec.write_text(spec)
        self.process = None
        self.api_port = None
        self.query_port = None

    def start(self, timeout_s=180):
        self.log_path = self.folder / "sluice.log"
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen([self.binary, "run", str(self.spec)],
                                        stdout=self.log_file, stderr=self.log_file)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            text = self.log_path.read_text()
            api = re.search(r"api listener on [\d.]+:(\d+)", text)
            query = re.search(r"clickhouse listener on [\d.]+:(\d+)", text)
            if api and query:
                self.api_port, self.query_port = int(api.group(1)), int(query.group(1))
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"sluice exited at start:\n{text[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"sluice did not start within {timeout_s} s; see {self.log_path}")

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15 of the whole line; here the first is field 3.
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def peak_rss_mib(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def query(self, sql, body=None, timeout_s=600):
        url = f"http://127.0.0.1:{self.query_port}/?" + urllib.parse.urlencode({"query": sql})
        request = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read().decode()

    def count(self, table="events"):
        return int(self.query(f"SELECT count() FROM default.{table}").strip())

    def wait_count(self, expected, timeout_s=600):
        """Polls count() until it reaches `expected`; returns the wall-clock time it did."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.count() >= expected:
                return time.time()
            time.sleep(0.05)
        raise RuntimeError(f"count() stayed below {expected} for {timeout_s} s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log_file.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def loadgen(args, url, extra):
    command = [args.loadgen, "--url", url, "--file", str(args.data), "--json",
               "--batch", str(args.batch)] + extra
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"loadgen failed: {result.stderr}")
    sys.stderr.write(result.stderr)
    return json.loads(result.stdout)


def new_sluice(args, name, **knobs):
    settings = dict(threads=args.threads, max_disk_bytes=4096 * MIB, segment_bytes=64 * MIB,
                    max_body_bytes=16 * MIB)
    settings.update(knobs)
    return Sluice(args.sluice, args.spec, args.work / name, **settings).start()


def throughput_sluice(args):
    sluice = new_sluice(args, "a-sluice")
    try:
        cpu_before = sluice.cpu_seconds()
        report = loadgen(args, f"http://127.0.0.1:{sluice.api_port}/v1/ingest/events",
                         ["--connections", str(args.connections)])
        stored_at = sluice.wait_count(args.events)
        cpu = sluice.cpu_seconds() - cpu_before
        seconds = stored_at - report["start_unix_s"]
        dead = sluice.count("events_dead_letter")
        if report["events_accepted"] != args.events or dead != 0:
            raise RuntimeError(f"accepted {report['events_accepted']}, dead letters {dead}")
        return dict(events_per_s=args.events / seconds, mb_per_s=args.bytes / seconds / 1e6,
                    cpu_per_m=cpu / (args.events / 1e6), rss_mib=sluice.peak_rss_mib(),
                    ack_events_per_s=report["events_per_s"], status_429=report["status_429"],
                    loadgen_cpu_s=report["loadgen_cpu_s"])
    finally:
        sluice.stop()


def throughput_clickhouse(args):
    sluice = new_sluice(args, "a-clickhouse")
    try:
        cpu_before = sluice.cpu_seconds()
        started = time.time()
        sluice.query("INSERT INTO default.events SELECT * FROM "
                     f"file('{args.data}', JSONEachRow)", body=b"")
        seconds = time.time() - started
        cpu = sluice.cpu_seconds() - cpu_before
        stored = sluice.count()
        if stored != args.events:
            raise RuntimeError(f"ClickHouse stored {stored} rows of {args.events}")
        return dict(events_per_s=args.events / seconds, mb_per_s=args.bytes / seconds / 1e6,
                    cpu_per_m=cpu / (args.events / 1e6), rss_mib=sluice.peak_rss_mib())
    finally:
        sluice.stop()


def fixed_rate(args, name, rate, url_of, wal_bytes=4096 * MIB, connections=None, wait=True):
    """Offers `rate` events/s for the scenario's duration to the URL that url_of(sluice) gives."""
    segment = min(64 * MIB, wal_bytes // 4)
    sluice = new_sluice(args, name, max_disk_bytes=wal_bytes, segment_bytes=segment)
    try:
        cpu_before = sluice.cpu_seconds()
        # Never more events than the file holds, so no batch is a replay of an earlier one.
        duration = min(args.duration, 0.95 * args.events / rate)
        report = loadgen(args, url_of(sluice),
                         ["--rate", f"{rate:.0f}", "--duration", f"{duration:.2f}",
                          "--connections", str(connections or args.connections)])
        if wait:
            sluice.wait_count(report["events_accepted"])
        cpu = sluice.cpu_seconds() - cpu_before
        accepted = max(report["events_accepted"], 1)
        return dict(events_per_s=report["events_per_s"], mb_per_s=report["mb_per_s"],
                    cpu_per_m=cpu / (accepted / 1e6), rss_mib=sluice.peak_rss_mib(),
                    p50_ms=report["p50_ms"], p99_ms=report["p99_ms"], p999_ms=report["p999_ms"],
                    status_200=report["status_200"], status_429=report["status_429"],
                    status_5xx=report["status_other_5xx"] + report["status_503"],
                    errors=report["connection_errors"], offered=rate)
    finally:
        sluice.stop()


def idle_rss(args):
    sluice = new_sluice(args, "idle")
    try:
        time.sleep(1)
        return sluice.peak_rss_mib()
    finally:
        sluice.stop()


def median_of(runs):
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def fmt_rate(value):
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:.0f} k"


def cell(ours, theirs, unit_format):
    ratio = ours / theirs if theirs else float("inf")
    return f"{unit_format(ours)} vs {unit_format(theirs)} ({ratio:.2f}×)"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice", required=True)
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--overload-wal-mib", type=int, default=4,
                        help="wal.max_disk_bytes in (c), MiB")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    args.data = args.data.resolve()
    args.work = args.work.resolve()
    args.bytes = args.data.stat().st_size
    with open(args.data, "rb") as data:
        args.events = sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 24), b""))

    a_runs, a_base_runs = [], []
    for index in range(args.runs):
        log(f"(a) run {index + 1} of {args.runs}")
        a_runs.append(throughput_sluice(args))
        log(f"(a) sluice: {json.dumps({k: round(v, 3) for k, v in a_runs[-1].items()})}")
        a_base_runs.append(throughput_clickhouse(args))
        log(f"(a) ClickHouse: {json.dumps({k: round(v, 3) for k, v in a_base_runs[-1].items()})}")
    a, a_base = median_of(a_runs), median_of(a_base_runs)

    half = a["events_per_s"] / 2
    insert_sql = urllib.parse.quote("INSERT INTO default.events FORMAT JSONEachRow")
    b_runs, b_base_runs = [], []
    for index in range(args.runs):
        log(f"(b) run {index + 1} of {args.runs} at {half:.0f} events/s")
        b_runs.append(fixed_rate(args, "b-sluice", half,
                                 lambda s: f"http://127.0.0.1:{s.api_port}/v1/ingest/events"))
        log(f"(b) sluice: {json.dumps({k: round(v, 3) for k, v in b_runs[-1].items()})}")
        b_base_runs.append(fixed_rate(
            args, "b-clickhouse", half,
            lambda s: f"http://127.0.0.1:{s.query_port}/?query={insert_sql}"))
        log(f"(b) ClickHouse: {json.dumps({k: round(v, 3) for k, v in b_base_runs[-1].items()})}")
    b, b_base = median_of(b_runs), median_of(b_base_runs)

    overload = 3 * a["events_per_s"]
    wal_bytes = args.overload_wal_mib * MIB
    c_runs = []
    for index in range(args.runs):
        log(f"(c) run {index + 1} of {args.runs} at {overload:.0f} events/s, WAL {wal_bytes} B")
        c_runs.append(fixed_rate(args, "c-sluice", overload,
                                 lambda s: f"http://127.0.0.1:{s.api_port}/v1/ingest/events",
                                 wal_bytes=wal_bytes, connections=64, wait=False))
        log(f"(c) sluice: {json.dumps({k: round(v, 3) for k, v in c_runs[-1].items()})}")
    c = median_of(c_runs)
    idle = idle_rss(args)

    rate = lambda v: fmt_rate(v) + "/s"
    mbs = lambda v: f"{v:.1f}"
    cpu = lambda v: f"{v:.2f}"
    rss = lambda v: f"{v:.0f}"
    ms = lambda v: f"{v:.1f}"
    lines = [
        f"{args.events:,} events of {args.bytes / args.events:.0f} B "
        f"({args.bytes / 1e6:.0f} MB), batches of {args.batch}, {args.connections} connections, "
        f"server threads {args.threads}; medians of {args.runs} runs. "
        "Cells: sluice vs baseline (ratio sluice / baseline).",
        "",
        "| scenario | events/s | MB/s | CPU s per M events | peak RSS MiB | ack p50 ms | "
        "ack p99 ms | ack p999 ms |",
        "|---|---|---|---|---|---|---|---|",
        f"| (a) max throughput, HTTP → stored rows; baseline: ClickHouse file() JSONEachRow "
        f"INSERT | {cell(a['events_per_s'], a_base['events_per_s'], rate)} | "
        f"{cell(a['mb_per_s'], a_base['mb_per_s'], mbs)} | "
        f"{cell(a['cpu_per_m'], a_base['cpu_per_m'], cpu)} | "
        f"{cell(a['rss_mib'], a_base['rss_mib'], rss)} | — | — | — |",
        f"| (b) offered {rate(half)} (half of (a)); baseline: ClickHouse HTTP INSERT FORMAT "
        f"JSONEachRow, same batches and rate | {cell(b['events_per_s'], b_base['events_per_s'], rate)}"
        f" | {cell(b['mb_per_s'], b_base['mb_per_s'], mbs)} | "
        f"{cell(b['cpu_per_m'], b_base['cpu_per_m'], cpu)} | "
        f"{cell(b['rss_mib'], b_base['rss_mib'], rss)} | "
        f"{cell(b['p50_ms'], b_base['p50_ms'], ms)} | {cell(b['p99_ms'], b_base['p99_ms'], ms)} | "
        f"{cell(b['p999_ms'], b_base['p999_ms'], ms)} |",
        f"| (c) offered {rate(overload)} (3× (a)), WAL bound {wal_bytes // MIB} MiB; baseline: "
        f"sluice in (a) | {cell(c['events_per_s'], a['events_per_s'], rate)} | "
        f"{cell(c['mb_per_s'], a['mb_per_s'], mbs)} | "
        f"{cell(c['cpu_per_m'], a['cpu_per_m'], cpu)} | {cell(c['rss_mib'], a['rss_mib'], rss)} | "
        f"{ms(c['p50_ms'])} | {ms(c['p99_ms'])} | {ms(c['p999_ms'])} |",
        "",
        f"- (a) acknowledged rate (loadgen, before delivery finished): "
        f"{rate(a['ack_events_per_s'])}; 429 answers: {a['status_429']:.0f}; "
        f"loadgen CPU {a['loadgen_cpu_s']:.1f} s per run.",
        f"- (b) every offered request answered 200: sluice {b['status_200']:.0f} "
        f"(429: {b['status_429']:.0f}, 5xx: {b['status_5xx']:.0f}, connection errors: "
        f"{b['errors']:.0f}); ClickHouse {b_base['status_200']:.0f} (5xx: "
        f"{b_base['status_5xx']:.0f}).",
        f"- (c) answers: 200 {c['status_200']:.0f}, 429 {c['status_429']:.0f}, 5xx "
        f"{c['status_5xx']:.0f}, connection errors {c['errors']:.0f}; peak RSS {c['rss_mib']:.0f}"
        f" MiB against: idle sluice {idle:.0f} MiB, max_body_bytes × threads = "
        f"{16 * args.threads} MiB, WAL bound (disk) {wal_bytes // MIB} MiB.",
        "",
        "Targets: (a) ≥ 1 M events/s: "
        f"{'met' if a['events_per_s'] >= 1e6 else 'missed'} ({rate(a['events_per_s'])}); "
        f"(a) ≥ 4× ClickHouse JSONEachRow: "
        f"{'met' if a['events_per_s'] >= 4 * a_base['events_per_s'] else 'missed'} "
        f"({a['events_per_s'] / a_base['events_per_s']:.2f}×); (b) p99 < 20 ms: "
        f"{'met' if b['p99_ms'] < 20 else 'missed'} ({b['p99_ms']:.1f} ms).",
    ]
    print("\n".join(lines))
    if args.json_out:
        args.json_out.write_text(json.dumps(dict(a=a_runs, a_baseline=a_base_runs, b=b_runs,
                                                 b_baseline=b_base_runs, c=c_runs,
                                                 idle_rss_mib=idle), indent=1))


if __name__ == "__main__":
    main()
