"""nats-py, an independent NATS client, against the real `warden worker` and a real `nats-server -js`.

Run by `make test` through scripts/test_nats_py.sh, which installs the pinned nats-py into .venv-nats and
passes the built binary in WARDEN_BINARY. The worker serves the tiny fixture model.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import nats
import pytest
from nats.errors import NoRespondersError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "Tests", "Fixtures", "tiny-bert")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_binary() -> str:
    found = os.environ.get("NATS_SERVER") or shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not os.access(found, os.X_OK):
        pytest.fail("nats-server is not installed (scripts/setup.sh installs it)")
    return found


@pytest.fixture(scope="module")
def server():
    port = free_port()
    store = tempfile.mkdtemp(prefix="warden-natspy-")
    process = subprocess.Popen([nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", store],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    shutil.rmtree(store, ignore_errors=True)


def run(coroutine):
    return asyncio.run(coroutine)


def start_worker(url: str) -> subprocess.Popen:
    binary = os.environ.get("WARDEN_BINARY", os.path.join(REPO, ".build", "debug", "warden"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
    env["WARDEN_NATS_URL"] = url  # the environment fallback of --nats-url
    process = subprocess.Popen([binary, "worker", "--model", MODEL, "--workers", "1", "--log-level", "warning",
                                "--stream", "CHAT", "--consumer", "natspy"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "Warden worker is ready" in line:
            return process
        if not line:
            break
    process.kill()
    pytest.fail("warden worker did not become ready: " + process.stderr.read())


@pytest.fixture(scope="module")
def worker(server):
    async def streams():
        nc = await nats.connect(server)
        js = nc.jetstream()
        await js.add_stream(name="CHAT", subjects=["chat.>"])
        await js.add_stream(name="RESULTS", subjects=["moderation.results.>"], duplicate_window=120)
        await nc.close()

    # With no worker running, a request fails at once with no-responders, far inside its 10 s timeout.
    async def nobody():
        nc = await nats.connect(server)
        started = time.monotonic()
        with pytest.raises(NoRespondersError):
            await nc.request("moderation.check", b'{"input": "hello"}', timeout=10)
        elapsed = time.monotonic() - started
        await nc.close()
        return elapsed

    run(streams())
    no_responders_after = run(nobody())
    process = start_worker(server)
    yield {"url": server, "no_responders_after": no_responders_after}
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_no_worker_fails_fast_with_no_responders(worker):
    assert worker["no_responders_after"] < 5, "a request with no worker running waited instead of failing fast"


def test_request_reply_gets_a_verdict_in_the_http_schema(worker):
    async def main():
        nc = await nats.connect(worker["url"])
        reply = await nc.request("moderation.check", json.dumps({"input": ["hello there", "you are an idiot"]}).encode(), timeout=30)
        await nc.close()
        return reply

    reply = run(main())
    body = json.loads(reply.data)
    assert body["id"].startswith("modr-")
    assert body["model"]
    assert len(body["results"]) == 2
    for result in body["results"]:
        assert set(result) >= {"flagged", "categories", "category_scores", "category_applied_input_types"}
        assert set(result["categories"]) == set(result["category_scores"])
    assert not (reply.headers or {}).get("Nats-Service-Error-Code")


def test_a_bad_request_gets_the_http_error_body_and_micro_error_headers(worker):
    async def main():
        nc = await nats.connect(worker["url"])
        reply = await nc.request("moderation.check", b'{"input": []}', timeout=30)
        await nc.close()
        return reply

    reply = run(main())
    body = json.loads(reply.data)
    assert body["error"]["code"] == "empty_input"
    assert body["error"]["param"] == "input"
    assert reply.headers["Nats-Service-Error-Code"] == "400"


def test_micro_discovery(worker):
    async def main():
        nc = await nats.connect(worker["url"])
        ping = await nc.request("$SRV.PING.warden", b"", timeout=10)
        info = await nc.request("$SRV.INFO", b"", timeout=10)
        await nc.close()
        return json.loads(ping.data), json.loads(info.data)

    ping, info = run(main())
    assert ping["type"] == "io.nats.micro.v1.ping_response" and ping["name"] == "warden"
    assert info["endpoints"][0]["subject"] == "moderation.check"
    assert info["endpoints"][0]["queue_group"] == "warden"


def test_stream_messages_published_by_nats_py_get_verdicts(worker):
    async def main():
        nc = await nats.connect(worker["url"])
        js = nc.jetstream()
        sequences = []
        for index in range(20):
            ack = await js.publish(f"chat.py.{index % 2}", json.dumps({"input": f"message {index} from python"}).encode())
            sequences.append(ack.seq)
        subscription = await js.pull_subscribe("moderation.results.>", durable="pyreader", stream="RESULTS")
        verdicts = []
        deadline = time.monotonic() + 60
        while len(verdicts) < 20 and time.monotonic() < deadline:
            try:
                for message in await subscription.fetch(20 - len(verdicts), timeout=2):
                    await message.ack()
                    verdicts.append(message)
            except nats.errors.TimeoutError:
                pass
        await nc.close()
        return sequences, verdicts

    sequences, verdicts = run(main())
    assert len(verdicts) == 20
    assert sorted(int(v.headers["Warden-Sequence"]) for v in verdicts) == sorted(sequences)
    for verdict in verdicts:
        assert verdict.headers["Nats-Msg-Id"] == "CHAT-" + verdict.headers["Warden-Sequence"]
        assert verdict.subject == "moderation.results." + verdict.headers["Warden-Subject"]
        body = json.loads(verdict.data)
        assert body["id"] == "modr-CHAT-" + verdict.headers["Warden-Sequence"]
        assert len(body["results"]) == 1
