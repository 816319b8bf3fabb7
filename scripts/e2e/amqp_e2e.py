"""End-to-end and throughput runs of `warden worker --amqp-url` on a real RabbitMQ (driven by scripts/amqp_e2e.sh).

  e2e:     the kill run, then the restart run.
  kill:    10,000 chat messages, each with its own message_id, in a quorum queue; 3 workers; kill -9 one after
           a third of the verdicts; then every message has a verdict with its id (extra copies carry a duplicate
           message_id), the killed worker's messages are redelivered and answered, nothing is left ready or
           unacked, and the other workers exit 0 on SIGTERM.
  restart: the same with the broker stopped and started again (same node, same data) after a third of the
           verdicts instead: nothing lost.
  bench:   one worker between two runs of `warden score` on the same messages (as JSON Lines), cache off for
           all; the ratio to their mean; the worker's peak RSS.

The broker is Debian's rabbitmq-server (scripts/setup.sh), started as the current user with its own node name,
data and log folder, cookie, and free loopback ports for AMQP, Erlang distribution and epmd, then stopped and
removed. Source messages are published each confirmed by the broker, in the kill run once the workers are ready,
in the restart run before they start (the bench publishes unconfirmed and checks every id); verdicts stay in their
queue during the run and are read at the end.
Exit status 1 when any message is lost.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter

import pika
import pika.exceptions

from e2e.common import corpus, log
from warden_tools.paths import DEFAULT_MODEL, build_products, warden_binary

BROKER = os.environ.get("RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = os.path.join(os.path.dirname(BROKER), "rabbitmqctl")
REQUESTS = "chat.requests"
VERDICTS = "chat.verdicts"
QUORUM = {"x-queue-type": "quorum"}


def message_ids(count: int) -> list[str]:
    return [f"chat-{index:06d}" for index in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_line() -> str:
    fields = {}
    for line in subprocess.run(["lscpu"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}).stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return (f"{fields.get('Model name', '?')} (family {fields.get('CPU family', '?')}, model {fields.get('Model', '?')}), "
            f"{os.cpu_count()} CPUs")


class Broker:
    """A private rabbitmq-server: its own node name, folder (data, logs, cookie) and loopback ports."""

    def __init__(self) -> None:
        if not os.access(BROKER, os.X_OK):
            raise SystemExit("amqp_e2e: rabbitmq-server is not installed (scripts/setup.sh installs it)")
        self.folder = tempfile.mkdtemp(prefix="warden-amqp-e2e-")
        self.port, self.epmd = free_port(), free_port()
        self.node = f"warden-e2e-{uuid.uuid4().hex[:8]}@localhost"
        with open(os.path.join(self.folder, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            "HOME": self.folder, "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
            "ERL_EPMD_PORT": str(self.epmd), "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_RELAXED_COMMAND_CHECK": "1",
            "RABBITMQ_MNESIA_BASE": os.path.join(self.folder, "mnesia"), "RABBITMQ_LOG_BASE": os.path.join(self.folder, "log"),
            "RABBITMQ_LOGS": "-", "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.folder, "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.folder, "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(self.folder, "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.folder, "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": os.path.join(self.folder, "rabbitmq.pid"),
            # The start script then execs the Erlang VM: the child's PID is the broker's.
            "RUNNING_UNDER_SYSTEMD": "1",
        })
        self.env = env
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        self.process: subprocess.Popen | None = None
        self.launch()

    def launch(self) -> float:
        """Starts the node (again, on the same ports and data) and waits until it takes a connection; seconds taken."""
        started = time.monotonic()
        with open(os.path.join(self.folder, "broker.log"), "ab") as output:
            self.process = subprocess.Popen([BROKER], env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while True:
            try:
                pika.BlockingConnection(pika.URLParameters(self.url)).close()
                return time.monotonic() - started
            except pika.exceptions.AMQPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise SystemExit(f"amqp_e2e: rabbitmq-server did not start; its log is {self.folder}/broker.log") from None
                time.sleep(0.3)

    def halt(self) -> float:
        """Stops the node (SIGTERM, SIGKILL after 60 s), keeping its data; seconds taken."""
        started = time.monotonic()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started

    def queues(self) -> dict[str, tuple[int, int]]:
        """`rabbitmqctl list_queues name messages_ready messages_unacknowledged` on this node."""
        env = {**os.environ, "HOME": self.folder, "ERL_EPMD_PORT": str(self.epmd)}
        done = subprocess.run([CTL, "-n", self.node, "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged"],
                              env=env, capture_output=True, text=True, timeout=120)
        found = {}
        for line in done.stdout.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                found[fields[0]] = (int(fields[1]), int(fields[2]))
        if not found:
            raise SystemExit(f"amqp_e2e: rabbitmqctl list_queues printed nothing usable: {done.stdout}{done.stderr}")
        return found

    def stop(self, keep: bool = False) -> None:
        """Stops the node and its epmd; removes its folder unless `keep` (its log is broker.log there)."""
        self.halt()
        epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        subprocess.run([epmd, "-port", str(self.epmd), "-kill"], env={"ERL_EPMD_RELAXED_COMMAND_CHECK": "1"},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if keep:
            log(f"kept the broker's folder (broker.log): {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


class Counts:
    """Ready-message counts of the two queues by `queue.declare passive`, through a connection kept open (and
    opened again after the broker was lost)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = None

    def get(self) -> tuple[int, int] | None:
        """(requests ready, verdicts stored), or None while the broker cannot be reached."""
        try:
            if self.connection is None or not self.connection.is_open:
                self.connection = pika.BlockingConnection(pika.URLParameters(self.url + "?heartbeat=0"))
            channel = self.connection.channel()
            requests = channel.queue_declare(REQUESTS, passive=True).method.message_count
            verdicts = channel.queue_declare(VERDICTS, passive=True).method.message_count
            channel.close()
            return requests, verdicts
        except (pika.exceptions.AMQPError, OSError):
            self.close()
            return None

    def close(self) -> None:
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except (pika.exceptions.AMQPError, OSError):
            pass
        self.connection = None


def wait_for(what: str, condition, timeout: float, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def declare(url: str) -> None:
    """The requests and verdicts queues, durable quorum queues, as the worker declares them."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for queue in (REQUESTS, VERDICTS):
        channel.queue_declare(queue, durable=True, arguments=QUORUM)
    connection.close()


def publish(url: str, texts: list[str], ids: list[str], confirm: bool) -> float:
    """Publishes every message (persistent, its own message_id) to the requests queue, each confirmed by the broker
    before the next when `confirm` (pika raises on a nack or an unroutable message); returns when the first went."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    if confirm:
        channel.confirm_delivery()
    first = 0.0
    for index, (text, message_id) in enumerate(zip(texts, ids)):
        channel.basic_publish("", REQUESTS, json.dumps({"input": text}).encode(),
                              pika.BasicProperties(message_id=message_id, delivery_mode=2, content_type="application/json"),
                              mandatory=confirm)
        if index == 0:
            first = time.monotonic()
    connection.close()
    return first


class Worker:
    def __init__(self, args, url: str, logs: str, extra: list[str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
        command = [args.binary, "worker", "--amqp-url", url, "--amqp-queue", REQUESTS, "--amqp-results-queue", VERDICTS,
                   "--amqp-results-routing-key", VERDICTS, "--model", args.model, "--log-level", "warning"] + (extra or [])
        self.stderr_path = os.path.join(logs, f"worker-{uuid.uuid4().hex[:6]}.log")
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "Warden worker is ready" in line:
                # Keep reading what it prints, so that it never blocks on a full pipe.
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return
            if not line:
                break
        self.process.kill()
        raise SystemExit(f"warden worker did not become ready; its log: {self.tail()}")

    def peak_rss_mib(self) -> float:
        """Peak resident memory (VmHWM), MiB; NaN once the process has exited."""
        with open(f"/proc/{self.process.pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM")), float("nan")) / 1024

    def warnings(self) -> int:
        with open(self.stderr_path, errors="replace") as f:
            return sum(1 for line in f if "warning" in line)

    def tail(self, lines: int = 5) -> str:
        with open(self.stderr_path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-lines:])

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout=timeout)


class Background:
    """A call run on a thread of its own: check() raises its error once it failed, result() waits for it."""

    def __init__(self, function, *args) -> None:
        self.value = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(function, *args), daemon=True)
        self.thread.start()

    def _run(self, function, *args) -> None:
        try:
            self.value = function(*args)
        except BaseException as error:  # handed to the caller by check() and result()
            self.error = error

    def check(self) -> bool:
        if self.error is not None:
            raise self.error
        return True

    def result(self, timeout: float = 600):
        self.thread.join(timeout)
        self.check()
        if self.thread.is_alive():
            raise SystemExit(f"FAIL: still running after {timeout:.0f} s")
        return self.value


def start_workers(args, url: str, logs: str, count: int, extra: list[str] | None = None) -> list[Worker]:
    """Starts `count` workers together and waits until each is ready (consuming)."""
    workers: list[Worker | BaseException | None] = [None] * count

    def start(slot: int) -> None:
        try:
            workers[slot] = Worker(args, url, logs, extra)
        except BaseException as error:  # handed to the caller below
            workers[slot] = error

    threads = [threading.Thread(target=start, args=(slot,)) for slot in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [w for w in workers if not isinstance(w, Worker)]
    started = [w for w in workers if isinstance(w, Worker)]
    if failed:
        for worker in started:
            worker.process.kill()
        raise failed[0] or SystemExit("warden worker did not start")
    return started


def read_verdicts(url: str, expected: int, timeout: float = 120) -> list[tuple[str | None, dict, bytes]]:
    """Every verdict stored in the verdicts queue: (message_id, headers, body)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=2000)
    verdicts = []
    deadline = time.monotonic() + timeout
    for method, properties, body in channel.consume(VERDICTS, auto_ack=True, inactivity_timeout=3):
        if method is None:
            if len(verdicts) >= expected or time.monotonic() > deadline:
                break
            continue
        verdicts.append((properties.message_id, properties.headers or {}, body))
    channel.cancel()
    connection.close()
    return verdicts


def run(args, disruption: str) -> list[str]:
    """One e2e run with a kill -9 of a worker (`kill`) or a broker restart (`restart`) at a third of the
    verdicts; prints its counts and returns its failures."""
    texts, ids = corpus(args.messages), message_ids(args.messages)
    title = "kill -9 of one of 3 workers" if disruption == "kill" else "broker restart under 3 workers"
    log(f"--- {title}: {args.messages} messages; CPU {cpu_line()}; load average {load_average()}")
    broker = Broker()
    logs = tempfile.mkdtemp(prefix="warden-amqp-e2e-logs-")
    workers: list[Worker] = []
    failures: list[str] = []
    counts = Counts(broker.url)
    passed = False
    try:
        declare(broker.url)
        third = args.messages // 3

        def stored() -> int:
            now = counts.get()
            return now[1] if now else 0

        if disruption == "kill":
            # Workers first (one ready before the others would answer a small run on its own), then the messages,
            # published while they consume so that the kill comes at a third of the verdicts.
            workers = start_workers(args, broker.url, logs, 3)
            log(f"3 workers ready, consuming the quorum queue {REQUESTS}")
            publisher = Background(publish, broker.url, texts, ids, True)
            wait_for("a third of the verdicts", lambda: publisher.check() and stored() >= third, args.timeout)
            victim = workers.pop(0)
            victim.signal(signal.SIGKILL)
            victim.wait()
            log(f"kill -9 one worker at {stored()} verdicts")
            if args.restart_killed:
                workers += start_workers(args, broker.url, logs, 1)
                log("started a worker in its place")
            publisher.result()
            log(f"published {args.messages} messages, each with its own message_id, each confirmed by the broker")
        else:
            # The messages first (a publisher cut off by the restart would have to send some again), then the
            # workers, started together while the verdicts are counted.
            publish(broker.url, texts, ids, confirm=True)
            wait_for(f"{args.messages} messages in {REQUESTS}", lambda: (counts.get() or (0, 0))[0] >= args.messages, 60)
            log(f"queue {REQUESTS} (quorum) holds {args.messages} messages, each with its own message_id, each confirmed")
            starter = Background(start_workers, args, broker.url, logs, 3)
            wait_for("a third of the verdicts", lambda: starter.check() and stored() >= third, args.timeout)
            at = stored()
            down = broker.halt()
            counts.close()
            log(f"broker stopped at {at} of {args.messages} verdicts ({down:.1f} s to stop); starting it again on the "
                "same node and data")
            up = broker.launch()
            log(f"broker back after {up:.1f} s")
            workers = starter.result()
            log("3 workers ready")

        def drained() -> bool:
            now = counts.get()
            return now is not None and now[0] == 0 and now[1] >= args.messages

        wait_for("every message delivered and a verdict stored for each", drained, args.timeout)
        queues: dict[str, tuple[int, int]] = {}

        def settled() -> bool:
            queues.update(broker.queues())
            return queues.get(REQUESTS, (1, 1)) == (0, 0)

        wait_for("no message left ready or unacked", settled, args.timeout, every=1)
        log(f"every message answered and acked; rabbitmqctl list_queues (ready, unacked) while the workers run: {queues}")
        exited = [worker.process.poll() for worker in workers]
        if any(code is not None for code in exited):
            failures.append(f"a worker exited during the run (exit codes {exited})")
        peaks = [round(worker.peak_rss_mib()) for worker in workers]
        for worker in workers:
            worker.signal(signal.SIGTERM)
        codes = [worker.wait() for worker in workers]
        if any(codes):
            failures.append(f"the running workers exited with {codes} after SIGTERM")
        left = broker.queues()
        ready, unacked = left.get(REQUESTS, (-1, -1))
        # With every worker gone nothing can be unacked: what the broker still holds is ready. queue.declare
        # counts it straight from the queue (rabbitmqctl's figures of a quorum queue can lag just after a restart).
        declared = counts.get()
        verdicts = read_verdicts(broker.url, left.get(VERDICTS, (0, 0))[0])
        seen = [message_id for message_id, _, _ in verdicts]
        answered = set(seen)
        duplicates = len(seen) - len(answered)
        duplicated_ids = sum(1 for n in Counter(seen).values() if n > 1)
        redelivered = [message_id for message_id, headers, _ in verdicts if headers.get("warden-redelivered")]
        errors = [message_id for message_id, headers, _ in verdicts if headers.get("warden-status") != 200]
        missing = set(ids) - answered
        unknown = answered - set(ids)
        log(f"source messages:                 {args.messages}")
        log(f"verdicts:                        {len(verdicts)}")
        log(f"distinct message_ids answered:   {len(answered)}")
        log(f"duplicate verdicts (same id):    {duplicates} (over {duplicated_ids} ids)")
        log(f"verdicts of redeliveries:        {len(redelivered)} (of {len(set(redelivered))} ids; header warden-redelivered)")
        log(f"error verdicts:                  {len(errors)}")
        log(f"lost (no verdict):               {len(missing)}")
        log(f"left in {REQUESTS} after exit: ready {ready}, unacked {unacked} (rabbitmqctl list_queues); "
            f"{declared[0] if declared else '?'} (queue.declare passive)")
        log(f"worker exit codes on SIGTERM:    {codes}; warning lines in the worker logs: "
            f"{[w.warnings() for w in workers]}; "
            f"peak RSS (VmHWM) of the running workers: {peaks} MiB")
        log(f"load average after: {load_average()}")
        if missing:
            failures.append(f"{len(missing)} messages lost (no verdict), e.g. {sorted(missing)[:5]}")
        if unknown:
            failures.append(f"{len(unknown)} verdicts with an unknown message_id, e.g. {sorted(unknown)[:5]}")
        if errors:
            failures.append(f"{len(errors)} error verdicts")
        if (ready, unacked) != (0, 0) or declared is None or declared[0] != 0:
            failures.append(f"left in {REQUESTS}: ready {ready}, unacked {unacked}, by queue.declare {declared}")
        if disruption == "kill" and not redelivered:
            failures.append("nothing was redelivered after kill -9")
        passed = not failures
    finally:
        counts.close()
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
        broker.stop(keep=not passed)
        if passed:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            log(f"kept the workers' logs: {logs}")
    for failure in failures:
        log(f"FAIL: {failure}")
    log(f"{title}: {'PASS' if not failures else 'FAILED'}")
    return failures


def bench(args) -> int:
    texts, ids = corpus(args.messages), message_ids(args.messages)
    log(f"CPU {cpu_line()}")
    log(f"load average before: {load_average()}")
    common = ["--cache-size", "0"]

    def score(when: str) -> tuple[float, float, str]:
        """`warden score` on the messages as JSON Lines: (seconds, messages/s, load average after)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
        with tempfile.TemporaryDirectory() as folder:
            source = os.path.join(folder, "chat.jsonl")
            with open(source, "w", encoding="utf-8") as f:
                for message_id, text in zip(ids, texts):
                    f.write(json.dumps({"id": message_id, "text": text}) + "\n")
            summary_path = os.path.join(folder, "summary.json")
            subprocess.run([args.binary, "score", source, "-o", os.path.join(folder, "out.jsonl"), "--model", args.model,
                            "-q", "--summary-json", summary_path] + common, check=True, env=env)
            with open(summary_path) as f:
                summary = json.load(f)
        seconds = summary["elapsed_seconds"]
        load = load_average()
        log(f"warden score ({when}): {summary['records']} JSON Lines records in {seconds:.2f} s (model load excluded): "
            f"{summary['records'] / seconds:.0f}/s; load average {load}")
        return seconds, summary["records"] / seconds, load

    # warden score before and after the worker: on a shared machine the load moves, and the mean of the two is
    # what the worker is compared with.
    scores = [score("before the worker")]
    broker = Broker()
    logs = tempfile.mkdtemp(prefix="warden-amqp-e2e-logs-")
    worker = None
    try:
        declare(broker.url)
        worker = start_workers(args, broker.url, logs, 1, common)[0]
        received: dict[str, float] = {}
        stop = threading.Event()
        listening = threading.Event()

        def collect() -> None:
            connection = pika.BlockingConnection(pika.URLParameters(broker.url))
            channel = connection.channel()
            channel.basic_qos(prefetch_count=2000)
            listening.set()
            for method, properties, _ in channel.consume(VERDICTS, auto_ack=True, inactivity_timeout=0.2):
                if method is not None:
                    received.setdefault(properties.message_id, time.monotonic())
                if stop.is_set() or len(received) >= len(ids):
                    break
            connection.close()

        collector = threading.Thread(target=collect)
        collector.start()
        listening.wait(60)
        # Unconfirmed, so that the publisher takes as little of the CPU as it can; every id is checked below.
        first_publish = publish(broker.url, texts, ids, confirm=False)
        deadline = time.monotonic() + args.timeout
        while len(received) < len(ids) and time.monotonic() < deadline and collector.is_alive():
            time.sleep(0.1)
        stop.set()
        collector.join(timeout=30)
        if len(received) < len(ids):
            raise SystemExit(f"FAIL: {len(ids) - len(received)} verdicts missing after {args.timeout:.0f} s")
        stamps = sorted(received.values())
        wall = stamps[-1] - first_publish
        span = stamps[-1] - stamps[0]
        worker_rate = len(ids) / wall
        peak = worker.peak_rss_mib()
        worker_load = load_average()
        worker.signal(signal.SIGTERM)
        code = worker.wait()
    finally:
        if worker is not None and worker.process.poll() is None:
            worker.process.kill()
        broker.stop()
        shutil.rmtree(logs, ignore_errors=True)
    scores.append(score("after the worker"))
    score_rate = sum(rate for _, rate, _ in scores) / len(scores)
    log(f"1 AMQP worker: {len(ids)} verdicts {wall:.2f} s after the first publish: {worker_rate:.0f}/s "
        f"(first to last verdict {span:.2f} s); peak RSS (VmHWM) {peak:.0f} MiB; SIGTERM exit {code}; "
        f"load average {worker_load}")
    print()
    print(f"| run (N = {len(ids)}, cache off) | seconds | messages/s | load average (1, 5, 15 min) |")
    print("|---|---|---|---|")
    for (seconds, rate, load), when in zip(scores, ("before", "after")):
        print(f"| warden score, JSON Lines, model load excluded ({when}) | {seconds:.2f} | {rate:.0f} | {load} |")
    print(f"| 1 AMQP worker, first publish to last verdict | {wall:.2f} | {worker_rate:.0f} | {worker_load} |")
    print(f"| 1 AMQP worker, first to last verdict | {span:.2f} | {len(ids) / span:.0f} | {worker_load} |")
    print(f"| one worker (first publish to last verdict) / warden score (mean) | | {100 * worker_rate / score_rate:.0f} % "
          f"(goal >= 80 %) | |")
    print(f"| worker peak RSS (VmHWM) | | {peak:.0f} MiB | |")
    print()
    log(f"CPU {cpu_line()}; load average after: {load_average()} (figures under load are not comparable to an idle machine)")
    return 0 if code == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["e2e", "kill", "restart", "bench"])
    parser.add_argument("--binary", default=warden_binary() or build_products()[0],
                        help="warden binary (default $WARDEN_BINARY, else .build/release/warden, else .build/debug/warden)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--restart-killed", action="store_true", help="start a worker in place of the killed one")
    parser.add_argument("--timeout", type=float, default=600, help="longest wait for any one phase, seconds")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"amqp_e2e: no warden binary at {args.binary}; run `make release` or `swift build` first")
    if args.mode == "bench":
        return bench(args)
    failures = []
    for disruption in (["kill", "restart"] if args.mode == "e2e" else [args.mode]):
        failures += run(args, disruption)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
