#!/usr/bin/env python3
"""Abuse probes against a real `warden serve` on loopback, each bounded in time; prints one line per probe.

  scripts/abuse.sh                      # builds nothing; uses .build/release/warden, else .build/debug/warden
  scripts/abuse.sh --soak-minutes 30    # adds a mixed-load soak (cache on, then off) with RSS over time

Probes: a bulk flood against interactive latency (lane isolation), a client hanging up (cancelled work),
slow uploaders (body deadline and memory given back), SIGTERM with stuck clients (drain timeout).
Only 127.0.0.1 is ever contacted. Standard library only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

from warden_tools.paths import warden_binary


def binary() -> str:
    path = warden_binary()
    if path is None:
        raise SystemExit("abuse: no warden binary; run `make release` or `swift build` first")
    return path


class Server:
    def __init__(self, *args: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
        self.process = subprocess.Popen([binary(), "serve", "--port", "0", "--log-level", "warning", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        deadline = time.monotonic() + 300
        self.port = None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = re.search(r"ready on http://127\.0\.0\.1:(\d+)", line or "")
            if match:
                self.port = int(match.group(1))
                break
            if not line and self.process.poll() is not None:
                break
        if self.port is None:
            raise SystemExit("abuse: warden serve did not start")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

    def metric(self, name: str) -> float:
        text = get(self.port, "/metrics")[1]
        return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name) and not l.startswith("#"))

    def stop(self, timeout: float = 60) -> tuple[int, float]:
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - start


def post(port: int, body: dict, timeout: float = 120) -> tuple[int, float]:
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/v1/moderations", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except OSError:
        return 0, time.monotonic() - start
    finally:
        connection.close()


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def lane_isolation(seconds: float) -> None:
    server = Server("--cache-size", "0")
    long_text = " ".join(["the weather was nice so we walked to the park and back home"] * 60)  # ~3.9 KB
    stop = time.monotonic() + seconds
    bulk: list[int] = []
    latencies: list[float] = []
    statuses: list[int] = []

    def flood(worker: int):
        n = 0
        while time.monotonic() < stop:
            # Distinct texts (identical ones are computed once); 64 of them (~600 windows) are admitted, the
            # 256 of the first request (~2,300 windows, more than one request's share) are refused at once.
            count = 256 if n == 0 else 64
            texts = [f"{worker}-{n}-{j} {long_text}" for j in range(count)]
            bulk.append(post(server.port, {"input": texts, "lane": "bulk"})[0])
            n += 1

    def chat(i: int):
        n = 0
        while time.monotonic() < stop:
            status, took = post(server.port, {"input": f"hello number {i}-{n}, see you at the game tonight"})
            statuses.append(status)
            latencies.append(took)
            n += 1

    threads = ([threading.Thread(target=flood, args=(w,)) for w in range(2)]
               + [threading.Thread(target=chat, args=(i,)) for i in range(4)])
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = statuses.count(200)
    print(f"lane isolation: {seconds:.0f} s of 2 bulk floods (64 distinct 3.9 KB texts per request, a first one of 256; statuses "
          f"{ {s: bulk.count(s) for s in set(bulk)} }) against 4 chat callers: {ok}/{len(statuses)} chat answers 200, "
          f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms "
          f"(interactive deadline 2000 ms)")
    server.stop()


def post_json(port: int, body: dict, timeout: float = 180) -> tuple[int, float, dict, float]:
    """Like post(), and the decoded answer ({} when it is not JSON) and its Retry-After in seconds (0: none)."""
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/v1/moderations", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {}
        retry_after = float(response.getheader("Retry-After") or 0)
        return response.status, time.monotonic() - start, answer, retry_after
    except OSError:
        return 0, time.monotonic() - start, {}, 0
    finally:
        connection.close()


def lane_probe(seconds: float, workers: int | None, extra: list[str]) -> None:
    """Two bulk senders of 120 distinct 3.9 KB texts per request (each under the bulk cap) and one chat client
    of short messages, one request at a time each. Prints the chat client's p50/p99 and statuses, the bulk
    statuses, and the rows computed for requests that were then refused or expired (rows computed in all,
    from the batches' item counts, minus the windows of the answers that came back 200)."""
    server = Server("--cache-size", "0", *(["--workers", str(workers)] if workers else []), *extra)
    items_before = server.metric("warden_batch_size_sum")
    # Every text distinct all along (a text that repeats one sentence has identical windows, which a batch
    # computes once): ~3.9 KB of words drawn with a fixed seed.
    words = ("the weather was nice so we walked to the park and back home after lunch with friends from work "
             "then played games talked about music movies football tickets prices trains rain holidays").split()
    rng = random.Random(20261207)

    def long_text() -> str:
        text = ""
        while len(text) < 3900:
            text += rng.choice(words) + " "
        return text.strip()

    stop = time.monotonic() + seconds
    bulk: list[int] = []
    chat: list[tuple[int, float]] = []
    answered_windows = [0]
    lock = threading.Lock()

    def windows(answer: dict) -> int:
        return sum(int(r.get("windows", 1)) for r in answer.get("results", []))

    def flood(sender: int):
        n = 0
        while time.monotonic() < stop:
            with lock:
                texts = [long_text() for _ in range(120)]
            status, _, answer, retry_after = post_json(server.port, {"input": texts, "lane": "bulk"})
            with lock:
                bulk.append(status)
                if status == 200:
                    answered_windows[0] += windows(answer)
            n += 1
            # A well-behaved bulk client waits as long as a refusal says before it sends again.
            if retry_after > 0:
                time.sleep(min(retry_after, max(0.0, stop - time.monotonic())))

    def talk():
        n = 0
        while time.monotonic() < stop:
            status, took, answer, _ = post_json(server.port, {"input": f"hello number {n}, see you at the game tonight"})
            with lock:
                chat.append((status, took))
                if status == 200:
                    answered_windows[0] += windows(answer)
            n += 1

    threads = [threading.Thread(target=flood, args=(s,)) for s in range(2)] + [threading.Thread(target=talk)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    computed = server.metric("warden_batch_size_sum") - items_before
    refused_deadline = server.metric('warden_rejected_total{reason="deadline"}')
    expired = server.metric("warden_expired_total")
    latencies = [took for _, took in chat]
    statuses = [status for status, _ in chat]
    buckets = []
    for line in get(server.port, "/metrics")[1].splitlines():
        if line.startswith('warden_queue_wait_bucket{lane="interactive"'):
            bound = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.split()[-1])))

    def bucket_bound(p: float) -> str:
        total = buckets[-1][1] if buckets else 0
        bound = next((b for b, c in buckets if total and c >= p * total), float("nan"))
        return f"<= {bound * 1000:.0f} ms" if bound != float("inf") else "> last bucket"

    waits = [f"p50 {bucket_bound(0.5)}", f"p99 {bucket_bound(0.99)}"] if buckets else []
    settings = ", " + " ".join(extra) if extra else ""
    print(f"lane probe ({seconds:.0f} s, 2 bulk senders of 120 x 3.9 KB, 1 chat client{settings}): "
          f"chat {len(chat)} requests, statuses { {s: statuses.count(s) for s in sorted(set(statuses))} }, "
          f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
          f"max {max(latencies, default=0) * 1000:.0f} ms; bulk statuses { {s: bulk.count(s) for s in sorted(set(bulk))} }; "
          f"rows computed {computed:.0f}, for answers that were not 200: {computed - answered_windows[0]:.0f}; "
          f"refused for their deadline before compute {refused_deadline:.0f}, expired in the queue {expired:.0f}; "
          f"server-side interactive queue wait (histogram bucket): {', '.join(waits) or 'n/a'}")
    server.stop()


def disconnect() -> None:
    server = Server("--cache-size", "0", "--workers", "1", "--max-batch-size", "8")
    before = server.metric("warden_cancelled_total")
    rows_before = server.metric("warden_batch_rows_count")
    texts = [" ".join([f"long message {i} about the weekend plans and the game"] * 30) for i in range(32)]
    body = json.dumps({"input": texts, "lane": "bulk"}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    time.sleep(0.3)
    sock.close()
    time.sleep(3)
    cancelled = server.metric("warden_cancelled_total") - before
    print(f"disconnect: 32 long texts, client gone after 0.3 s: warden_cancelled_total +{cancelled:.0f}, "
          f"batches computed {server.metric('warden_batch_rows_count') - rows_before:.0f}")
    server.stop()


def slow_bodies(connections: int) -> None:
    server = Server("--body-timeout-s", "5", "--max-body-bytes", "1048576")
    rss_start = server.rss_mb()
    socks = []
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1048000\r\n\r\n{\"input\": \"" + b"a" * 900_000)
        socks.append(s)
    rss_full = server.rss_mb()
    closed = 0
    start = time.monotonic()
    while time.monotonic() - start < 12 and closed < connections:
        closed = 0
        for s in socks:
            try:
                s.sendall(b"a")
            except OSError:
                closed += 1
        time.sleep(1)
    took = time.monotonic() - start
    for s in socks:
        s.close()
    time.sleep(12)  # the memory release runs on a 10 s tick once idle
    print(f"slow bodies: {connections} uploads of ~0.9 MB then 1 byte/s: {closed} closed by the server after {took:.0f} s "
          f"(body deadline 5 s); RSS {rss_start:.0f} MB -> {rss_full:.0f} MB while held -> {server.rss_mb():.0f} MB after")
    server.stop()


def sigterm_stuck() -> None:
    server = Server("--drain-timeout-s", "3")
    socks = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 9999\r\n\r\n{")
        socks.append(s)
    time.sleep(0.5)  # let the server read the three heads: the uploads are in flight when SIGTERM comes
    code, took = server.stop()
    print(f"SIGTERM with 3 stuck uploaders: exit {code} after {took:.1f} s (drain timeout 3 s)")


def soak(minutes: float) -> None:
    for cache in ("10000", "0"):
        server = Server("--cache-size", cache)
        stop = time.monotonic() + minutes * 30
        counts: dict[int, int] = {}
        samples = []

        def load(i: int, stop=stop, server=server, counts=counts):  # this round's, bound explicitly
            n = 0
            while time.monotonic() < stop:
                texts = [f"message {i} {n % 500} about the game tonight"] * (1 if n % 5 else 20)
                status, _ = post(server.port, {"input": texts})
                counts[status] = counts.get(status, 0) + 1
                n += 1

        threads = [threading.Thread(target=load, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        while time.monotonic() < stop:
            samples.append(round(server.rss_mb()))
            time.sleep(max(1.0, minutes * 30 / 10))
        for t in threads:
            t.join()
        print(f"soak (cache {cache}, {minutes / 2:.1f} min): statuses {counts}; RSS MB over time {samples}")
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flood-seconds", type=float, default=20)
    ap.add_argument("--slow-connections", type=int, default=200)
    ap.add_argument("--soak-minutes", type=float, default=0)
    ap.add_argument("--lane-probe-seconds", type=float, default=0,
                    help="run only the lane probe (2 bulk senders of 120 x 3.9 KB, 1 chat client) for this long")
    ap.add_argument("--workers", type=int, default=None, help="--workers for the lane probe's server")
    ap.add_argument("--bulk-deadline-ms", type=int, default=None,
                    help="the lane probe server's default bulk deadline (a short one provokes deadline refusals)")
    args = ap.parse_args()
    if args.lane_probe_seconds > 0:
        lane_probe(args.lane_probe_seconds, args.workers,
                   ["--bulk-deadline-ms", str(args.bulk_deadline_ms)] if args.bulk_deadline_ms else [])
        return
    lane_isolation(args.flood_seconds)
    disconnect()
    slow_bodies(args.slow_connections)
    sigterm_stuck()
    if args.soak_minutes > 0:
        soak(args.soak_minutes)


if __name__ == "__main__":
    main()
