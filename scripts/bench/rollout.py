"""Measures a model rollout on a running `warden serve`: a reload under HTTP load, and the cost of a shadow model.

    PYTHONPATH=scripts python3 -m bench.rollout swap [--model DIR] [--clients 16] [--before 15] [--after 15]
    PYTHONPATH=scripts python3 -m bench.rollout shadow --model DIR --shadow-model DIR [--rates none,0.1,1] [--rounds 2]

`swap` copies the bundle to a temporary folder, serves it (release build), drives it with CLIENTS keep-alive
clients sending chat-corpus messages back to back, bumps the copy's version and sends SIGHUP after BEFORE
seconds, keeps the load on for AFTER seconds, and reports: requests before, during (SIGHUP to the old model's
release, the reload plus the grace period) and after the swap; failures; the longest and p99 latency in each
window; resident memory before, at its peak and after (sampled every 50 ms from /proc).

`shadow` serves MODEL with no shadow and with SHADOW_MODEL at each rate, interleaved over ROUNDS rounds, drives
each with wrk (64 connections, the chat corpus, cache off) and reports requests/s, p99 and the shadow's scored
and dropped samples.

Loopback only; every server is stopped at the end. Run on a quiet machine (no build, no other benchmark).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build/release/warden"
CORPUS = ROOT / "Benchmarks/corpus/chat.txt"


@dataclass
class Record:
    start: float
    seconds: float
    status: int


@dataclass
class Window:
    name: str
    requests: int
    failures: int
    max_ms: float
    p99_ms: float


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def windows(records: list[Record], swap_start: float, swap_end: float) -> list[Window]:
    """Splits the requests by when they started: before the signal, during the swap, after it."""
    groups = {"before": [], "during": [], "after": []}
    for r in records:
        key = "before" if r.start < swap_start else "during" if r.start < swap_end else "after"
        groups[key].append(r)
    return [
        Window(
            name,
            len(rs),
            sum(1 for r in rs if r.status != 200),
            max((r.seconds for r in rs), default=0) * 1000,
            percentile([r.seconds for r in rs], 0.99) * 1000,
        )
        for name, rs in groups.items()
    ]


class Server:
    """`warden serve` on a free loopback port, its standard error kept in a file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        deadline = time.time() + 300
        self.port = 0
        assert self.process.stdout is not None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit(f"warden exited before it was ready:\n{log.read_text()[-3000:]}")
            match = re.search(r"ready on http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        if not self.port:
            raise SystemExit("warden was not ready within 300 s")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def metrics(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.request("GET", "/metrics")
        return connection.getresponse().read().decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def corpus_bodies(limit: int = 2000) -> list[bytes]:
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    return [json.dumps({"input": line}).encode() for line in lines]


def client(port: int, bodies: list[bytes], offset: int, stop: threading.Event, out: list[Record]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    index = offset
    while not stop.is_set():
        body = bodies[index % len(bodies)]
        index += 7
        start = time.monotonic()
        try:
            connection.request("POST", "/v1/moderations", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out.append(Record(start, time.monotonic() - start, status))


def bump_version(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = manifest["version"] + "-reloaded"
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest["version"]


def copy_bundle(source: Path, work: Path) -> Path:
    """A copy of the bundle whose tokenizer path still resolves (the manifest's path is made absolute)."""
    target = work / source.name
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["tokenizer"]["path"] = str((source / manifest["tokenizer"]["path"]).resolve())
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return target


def swap(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="warden-swap-"))
    bundle = copy_bundle(Path(args.model).resolve(), work)
    server = Server(["--model", str(bundle), "--cache-size", "0", "--log-level", "info"], work / "serve.log")
    try:
        bodies = corpus_bodies()
        records: list[Record] = []
        stop = threading.Event()
        rss: list[tuple[float, float]] = []

        def sample_memory() -> None:
            while not stop.is_set():
                rss.append((time.monotonic(), server.rss_mib()))
                time.sleep(0.05)

        threads = [threading.Thread(target=sample_memory)]
        per_client: list[list[Record]] = [[] for _ in range(args.clients)]
        threads += [
            threading.Thread(target=client, args=(server.port, bodies, i * 101, stop, per_client[i])) for i in range(args.clients)
        ]
        for t in threads:
            t.start()
        time.sleep(args.before)
        version = bump_version(bundle)
        swap_start = time.monotonic()
        server.process.send_signal(signal.SIGHUP)
        reloaded = None
        while time.monotonic() - swap_start < 300:
            if "model reloaded" in server.log.read_text():
                reloaded = time.monotonic()
                break
            time.sleep(0.02)
        if reloaded is None:
            raise SystemExit("no reload within 300 s")
        # The old model admits work for the grace period, then drains and is freed.
        swap_end = reloaded + 2.0
        time.sleep(args.after)
        stop.set()
        for t in threads:
            t.join()
        for part in per_client:
            records.extend(part)
        before_rss = max((m for t, m in rss if t < swap_start), default=0)
        peak_rss = max((m for t, m in rss if swap_start <= t < swap_end + 1), default=0)
        after_rss = rss[-1][1] if rss else 0
        served = re.search(r'warden_model_info\{model="[^"]+",version="([^"]+)"\} 1', server.metrics())
        print(
            f"reload (SIGHUP to serving the new model): {reloaded - swap_start:.2f} s; "
            f"served version now {served and served.group(1)}"
        )
        print(f"{'window':8s} {'requests':>9s} {'failures':>9s} {'p99 ms':>8s} {'max ms':>8s}")
        for w in windows(records, swap_start, swap_end):
            print(f"{w.name:8s} {w.requests:9d} {w.failures:9d} {w.p99_ms:8.1f} {w.max_ms:8.1f}")
        print(
            f"resident memory: before {before_rss:.0f} MiB, peak during the swap {peak_rss:.0f} MiB, "
            f"at the end {after_rss:.0f} MiB"
        )
        if served is None or served.group(1) != version:
            raise SystemExit(f"expected version {version} to be served")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def wrk(port: int, seconds: int) -> dict:
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    env = dict(os.environ, BENCH_CORPUS=str(CORPUS), BENCH_OUT=str(out))
    url = f"http://127.0.0.1:{port}/v1/moderations"
    lua = str(ROOT / "scripts/bench/bench_http.lua")
    subprocess.run(
        ["wrk", "-t1", "-c64", "-d3s", "--timeout", "10s", "-s", lua, url],
        env=dict(env, BENCH_OUT=""),
        capture_output=True,
        timeout=60,
        check=False,
    )
    subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "--timeout", "10s", "-s", lua, url],
        env=env,
        capture_output=True,
        timeout=seconds + 60,
        check=False,
    )
    result = json.loads(out.read_text())
    out.unlink()
    return result


def shadow(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="warden-shadow-"))
    rates = args.rates.split(",")
    try:
        rows: dict[str, list[tuple[float, float, str]]] = {rate: [] for rate in rates}
        for round_number in range(args.rounds):
            for rate in rates:
                extra = [] if rate == "none" else ["--shadow-model", args.shadow_model, "--shadow-rate", rate]
                server = Server(["--model", args.model, "--cache-size", "0", *extra], work / f"serve-{rate}.log")
                try:
                    load = os.getloadavg()[0]
                    result = wrk(server.port, args.seconds)
                    metrics = server.metrics()
                finally:
                    server.stop()
                counts = dict(re.findall(r'warden_shadow_samples_total\{outcome="(\w+)"\} (\d+)', metrics))
                samples = f"scored {counts.get('scored', '-')}, dropped {counts.get('dropped', '-')}" if counts else ""
                rows[rate].append((result["rps"], result["p99_ms"], samples))
                print(
                    f"round {round_number + 1} shadow {rate:5s} {result['rps']:8.1f} req/s  p99 {result['p99_ms']:7.1f} ms  "
                    f"errors {result['errors']}  load {load:.2f}  {samples}",
                    flush=True,
                )
        base = sum(r[0] for r in rows[rates[0]]) / len(rows[rates[0]])
        print(f"\n{'shadow':8s} {'req/s':>8s} {'vs ' + rates[0]:>9s} {'p99 ms':>8s}")
        for rate in rates:
            rps = sum(r[0] for r in rows[rate]) / len(rows[rate])
            p99 = sum(r[1] for r in rows[rate]) / len(rows[rate])
            print(f"{rate:8s} {rps:8.1f} {rps / base:8.2f}x {p99:8.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("swap", help="reload under load")
    s.add_argument("--model", default=str(ROOT / "models/minilm-moderation"))
    s.add_argument("--clients", type=int, default=16)
    s.add_argument("--before", type=float, default=15)
    s.add_argument("--after", type=float, default=15)
    h = commands.add_parser("shadow", help="throughput with a shadow model")
    h.add_argument("--model", default=str(ROOT / "models/minilm-moderation"))
    h.add_argument("--shadow-model", required=True)
    h.add_argument("--rates", default="none,0.1,1")
    h.add_argument("--rounds", type=int, default=2)
    h.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args(argv)
    if not BINARY.exists():
        sys.exit(f"no release build at {BINARY}: swift build -c release --product warden")
    swap(args) if args.command == "swap" else shadow(args)


if __name__ == "__main__":
    main()
