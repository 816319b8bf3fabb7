"""End-to-end and throughput runs of `warden worker` on a real nats-server -js (driven by scripts/nats_e2e.sh).

  e2e:   10,000 chat messages, 3 workers on one durable consumer, kill -9 one mid-run; then exactly one
         verdict per source sequence, the killed worker's messages redelivered and answered, nothing left
         unacked; then a SIGTERM'd worker exits 0 with nothing it fetched left unacked.
  bench: one worker against `warden score` on the same 10,000 messages, then 1, 2 and 3 workers.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import nats

from e2e.common import corpus, log
from warden_tools.paths import DEFAULT_MODEL, build_products, warden_binary


class Server:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.store = tempfile.mkdtemp(prefix="warden-e2e-")
        binary = os.environ.get("NATS_SERVER") or shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.process = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self.store],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"nats://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nats-server did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        shutil.rmtree(self.store, ignore_errors=True)


class Worker:
    def __init__(self, args, url: str, extra: list[str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
        command = [args.binary, "worker", "--nats-url", url, "--stream", "CHAT", "--consumer", "moderators",
                   "--model", args.model, "--log-level", "warning", "--ack-wait", str(args.ack_wait)] + (extra or [])
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env=env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "Warden worker is ready" in line:
                return
            if not line:
                break
        raise SystemExit("warden worker did not become ready")

    def memory(self) -> tuple[float, float]:
        """Resident memory now and at its peak, MiB."""
        fields = dict(line.split(":", 1) for line in open(f"/proc/{self.process.pid}/status") if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)


async def start_workers(args, url: str, count: int, extra: list[str] | None = None) -> list[Worker]:
    """Starts `count` workers together (off the event loop, which must keep reading NATS meanwhile)."""
    return list(await asyncio.gather(*(asyncio.to_thread(Worker, args, url, extra) for _ in range(count))))


async def setup_streams(js) -> None:
    await js.add_stream(name="CHAT", subjects=["chat.>"])
    await js.add_stream(name="RESULTS", subjects=["moderation.results.>"], duplicate_window=600)


async def publish(nc, texts: list[str], first_index: int = 0) -> None:
    for index, text in enumerate(texts):
        await nc.publish(f"chat.room{(first_index + index) % 8}", json.dumps({"input": text}).encode())
    await nc.flush(timeout=60)


async def wait_for(what: str, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def stored(js, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


async def read_results(js) -> list:
    subscription = await js.pull_subscribe("moderation.results.>", durable=f"check{int(time.time() * 1000)}", stream="RESULTS")
    messages = []
    while True:
        try:
            batch = await subscription.fetch(1000, timeout=2)
        except nats.errors.TimeoutError:
            return messages
        for message in batch:
            await message.ack()
        messages += batch


async def e2e(args) -> int:
    server = Server()
    failures: list[str] = []
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await setup_streams(js)
        texts = corpus(args.messages)
        await publish(nc, texts)
        log(f"stream CHAT holds {await stored(js, 'CHAT')} messages")
        seen: list[tuple[int, int]] = []

        async def record(message):
            seen.append((int(message.headers["Warden-Sequence"]), int(message.headers["Warden-Delivered"])))

        await nc.subscribe("moderation.results.>", cb=record)
        workers = await start_workers(args, server.url, 3)
        log("3 workers ready")
        await wait_for("a third of the verdicts", lambda: _at_least(js, args.messages // 3), args.timeout)
        victim = workers.pop(0)
        victim.signal(signal.SIGKILL)
        await asyncio.to_thread(victim.wait)
        log(f"kill -9 one worker at {await stored(js, 'RESULTS')} verdicts")

        async def finished():
            info = await js.consumer_info("CHAT", "moderators")
            return info.num_pending == 0 and info.num_ack_pending == 0 and await stored(js, "RESULTS") >= args.messages
        await wait_for("every message answered and acked", finished, args.timeout)
        log("every message answered and acked")
        for worker in workers:
            worker.signal(signal.SIGTERM)
        codes = [await asyncio.to_thread(worker.wait) for worker in workers]
        if codes != [0, 0]:
            failures.append(f"the surviving workers exited with {codes} after SIGTERM")

        results = await read_results(js)
        sequences = [int(m.headers["Warden-Sequence"]) for m in results]
        info = await js.consumer_info("CHAT", "moderators")
        redeliveries = info.delivered.consumer_seq - args.messages
        redelivered = {sequence for sequence, delivered in seen if delivered > 1}
        answered = set(sequences)
        log(f"verdicts stored: {len(results)}, distinct source sequences: {len(answered)}, "
            f"verdicts published (before dedupe): {len(seen)}, deliveries beyond the first: {redeliveries}, "
            f"verdicts from a redelivery: {len(redelivered)}, num_ack_pending: {info.num_ack_pending}")
        if len(results) != args.messages or answered != set(range(1, args.messages + 1)):
            failures.append("not exactly one verdict per source sequence")
        if redeliveries <= 0:
            failures.append("nothing was redelivered after kill -9")
        if not redelivered <= answered:
            failures.append("a redelivered message has no stored verdict")
        if info.num_ack_pending != 0:
            failures.append("messages left unacked")
        bad = [m for m in results if m.headers.get("Warden-Status") != "200"]
        if bad:
            failures.append(f"{len(bad)} error verdicts")

        # SIGTERM: a worker stopped mid-run exits 0 and leaves nothing it fetched unacked.
        await publish(nc, corpus(3000), first_index=args.messages)
        before = await stored(js, "RESULTS")
        worker = (await start_workers(args, server.url, 1, ["--bulk-max-queue-delay-ms", "50"]))[0]
        await wait_for("the first verdicts of the SIGTERM run", lambda: _at_least(js, before + 200), args.timeout)
        worker.signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait)
        info = await js.consumer_info("CHAT", "moderators")
        after = await stored(js, "RESULTS")
        log(f"SIGTERM: exit {code}, num_ack_pending {info.num_ack_pending}, left in the stream {info.num_pending}, "
            f"verdicts of this run {after - before}")
        if code != 0:
            failures.append(f"SIGTERM'd worker exited {code}")
        if info.num_ack_pending != 0:
            failures.append("SIGTERM'd worker left fetched messages unacked")
        if after - before != info.delivered.consumer_seq - (args.messages + redeliveries):
            failures.append("SIGTERM'd worker fetched messages it did not answer")
        await nc.close()
    finally:
        server.stop()
    for failure in failures:
        log(f"FAIL: {failure}")
    log("PASS" if not failures else "FAILED")
    return 1 if failures else 0


async def _at_least(js, count: int) -> bool:
    return await stored(js, "RESULTS") >= count


def cpu_line() -> str:
    model = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip()
    flags = open("/proc/cpuinfo").read()
    extra = [flag for flag in ("avx512_bf16", "amx_bf16", "amx_tile", "avx512f", "avx2") if f" {flag}" in flags]
    return f"{' '.join(model.split())}; flags: {', '.join(extra) or 'none of avx2/avx512/amx'}; {os.cpu_count()} CPUs"


async def bench(args) -> int:
    texts = corpus(args.messages)
    log(cpu_line())
    log(f"load average before: {open('/proc/loadavg').read().strip()}")
    common = ["--cache-size", "0"]
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "chat.txt")
        with open(source, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        summary_path = os.path.join(folder, "summary.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
        subprocess.run([args.binary, "score", source, "-o", os.path.join(folder, "out.jsonl"), "--model", args.model, "-q",
                        "--summary-json", summary_path] + common, check=True, env=env)
        summary = json.load(open(summary_path))
        score_rate = summary["records"] / summary["elapsed_seconds"]
        log(f"warden score: {summary['records']} records in {summary['elapsed_seconds']:.2f} s (model load excluded): "
            f"{score_rate:.0f}/s")

    rates = {}
    for count in (1, 2, 3):
        server = Server()
        try:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            await setup_streams(js)
            workers = await start_workers(args, server.url, count, common)
            started = time.monotonic()
            await publish(nc, texts)
            await wait_for("every verdict", lambda js=js: _at_least(js, args.messages), args.timeout)
            wall = time.monotonic() - started
            results = await read_results(js)
            stamps = sorted(m.metadata.timestamp.timestamp() for m in results)
            span = stamps[-1] - stamps[0]
            rates[count] = args.messages / wall
            log(f"{count} worker(s): {args.messages} verdicts {wall:.2f} s after the first publish: {rates[count]:.0f}/s "
                f"(first to last verdict {span:.2f} s)")
            memory = [worker.memory() for worker in workers]
            log(f"   RSS per worker (now / peak, MiB): {', '.join(f'{now:.0f} / {peak:.0f}' for now, peak in memory)}")
            for worker in workers:
                worker.signal(signal.SIGTERM)
            for worker in workers:
                await asyncio.to_thread(worker.wait)
            await nc.close()
        finally:
            server.stop()
    log(f"one worker / warden score: {100 * rates[1] / score_rate:.0f}%")
    log(f"load average after: {open('/proc/loadavg').read().strip()}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["e2e", "bench"])
    parser.add_argument("--binary", default=warden_binary() or build_products()[0],
                        help="warden binary (default $WARDEN_BINARY, else .build/release/warden, else .build/debug/warden)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--ack-wait", type=float, default=5)
    parser.add_argument("--timeout", type=float, default=300, help="longest wait for any one phase, seconds")
    args = parser.parse_args()
    return asyncio.run(e2e(args) if args.mode == "e2e" else bench(args))


if __name__ == "__main__":
    sys.exit(main())
