"""pika, an independent AMQP 0-9-1 client, against the real `warden worker --amqp-url` and a real RabbitMQ.

Run by `make test` through scripts/test_amqp_py.sh, which installs the pinned pika into .venv-amqp and passes the
built binary in WARDEN_BINARY. The suite starts its own broker (Debian's rabbitmq-server, run as the current user
with its own node name, ports, epmd and data folder) and one worker on the tiny fixture model.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pika
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "Tests", "Fixtures", "tiny-bert")
BROKER = os.environ.get("RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server")
QUEUE = "pika.requests"
RESULTS = "pika.verdicts"
DEAD = "pika.dead"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def broker():
    if not os.access(BROKER, os.X_OK):
        pytest.fail("rabbitmq-server is not installed (scripts/setup.sh installs it)")
    folder = tempfile.mkdtemp(prefix="warden-amqppy-")
    port, dist, epmd = free_port(), free_port(), free_port()
    with open(os.path.join(folder, "enabled_plugins"), "w") as f:
        f.write("[].\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update({
        "HOME": folder, "RABBITMQ_NODENAME": f"warden-py-{uuid.uuid4().hex[:8]}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist),
        "ERL_EPMD_PORT": str(epmd), "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_RELAXED_COMMAND_CHECK": "1",
        "RABBITMQ_MNESIA_BASE": os.path.join(folder, "mnesia"), "RABBITMQ_LOG_BASE": os.path.join(folder, "log"),
        "RABBITMQ_LOGS": "-", "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(folder, "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": os.path.join(folder, "rabbitmq"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(folder, "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": os.path.join(folder, "rabbitmq-env.conf"), "RUNNING_UNDER_SYSTEMD": "1",
    })
    process = subprocess.Popen([BROKER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"amqp://guest:guest@127.0.0.1:{port}/%2F"
    deadline = time.monotonic() + 90
    while True:
        try:
            pika.BlockingConnection(pika.URLParameters(url)).close()
            break
        except pika.exceptions.AMQPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("rabbitmq-server did not start")
            time.sleep(0.3)
    yield url
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    epmd_binary = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
    subprocess.run([epmd_binary, "-port", str(epmd), "-kill"], env={"ERL_EPMD_RELAXED_COMMAND_CHECK": "1"},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def worker(broker):
    # The dead-letter target of the worker's queue, made by the platform (here: this suite).
    connection = pika.BlockingConnection(pika.URLParameters(broker))
    channel = connection.channel()
    channel.exchange_declare("pika.dlx", exchange_type="fanout", durable=True)
    channel.queue_declare(DEAD, durable=True)
    channel.queue_bind(DEAD, "pika.dlx")
    connection.close()

    binary = os.environ.get("WARDEN_BINARY", os.path.join(REPO, ".build", "debug", "warden"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
    env["WARDEN_AMQP_URL"] = broker  # the environment fallback of --amqp-url
    process = subprocess.Popen([binary, "worker", "--model", MODEL, "--workers", "1", "--log-level", "warning",
                                "--amqp-queue", QUEUE, "--amqp-results-routing-key", RESULTS, "--amqp-results-queue", RESULTS,
                                "--amqp-dead-letter-exchange", "pika.dlx"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "Warden worker is ready" in line:
            break
        if not line:
            process.kill()
            pytest.fail("warden worker did not become ready: " + process.stderr.read())
    yield broker
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def take(channel, queue: str, count: int, timeout: float = 60) -> list:
    """Up to `count` messages of `queue`, acked, within `timeout` seconds."""
    taken = []
    deadline = time.monotonic() + timeout
    while len(taken) < count and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue)
        if method is None:
            time.sleep(0.1)
            continue
        channel.basic_ack(method.delivery_tag)
        taken.append((properties, body))
    return taken


def test_a_producer_and_a_consumer_around_the_worker(worker):
    connection = pika.BlockingConnection(pika.URLParameters(worker))
    channel = connection.channel()
    channel.confirm_delivery()
    ids = [f"py-{index}" for index in range(20)]
    for index, message_id in enumerate(ids):
        channel.basic_publish("", QUEUE, json.dumps({"input": f"message {index} from python"}).encode(),
                              pika.BasicProperties(message_id=message_id, delivery_mode=2))
    verdicts = take(channel, RESULTS, len(ids))
    connection.close()
    assert sorted(p.message_id for p, _ in verdicts) == sorted(ids)
    for properties, body in verdicts:
        assert properties.headers["warden-status"] == 200
        assert properties.content_type == "application/json"
        response = json.loads(body)
        assert response["id"] == "modr-" + properties.message_id
        assert len(response["results"]) == 1
        assert set(response["results"][0]) >= {"flagged", "categories", "category_scores"}


def test_rpc_with_direct_reply_to(worker):
    connection = pika.BlockingConnection(pika.URLParameters(worker))
    channel = connection.channel()
    replies = {}

    def on_reply(_channel, _method, properties, body):
        replies[properties.correlation_id] = (properties, json.loads(body))

    channel.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
    for correlation, body in [("ok", {"input": ["hello there", "you are an idiot"]}), ("bad", {"input": []})]:
        channel.basic_publish("", QUEUE, json.dumps(body).encode(),
                              pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=correlation))
    deadline = time.monotonic() + 60
    while len(replies) < 2 and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.5)
    # A refused request is poison like any other: answered, then rejected to the dead-letter exchange.
    dead = take(channel, DEAD, 1)
    connection.close()
    assert [json.loads(body) for _, body in dead] == [{"input": []}]
    ok_properties, ok = replies["ok"]
    assert ok_properties.headers["warden-status"] == 200 and len(ok["results"]) == 2
    bad_properties, bad = replies["bad"]
    assert bad_properties.headers["warden-status"] == 400
    assert bad["error"]["code"] == "empty_input" and bad["error"]["param"] == "input"


def test_poison_gets_an_error_verdict_and_is_dead_lettered(worker):
    connection = pika.BlockingConnection(pika.URLParameters(worker))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("", QUEUE, b"not json at all", pika.BasicProperties(message_id="py-poison"))
    verdicts = take(channel, RESULTS, 1)
    dead = take(channel, DEAD, 1)
    connection.close()
    assert [p.message_id for p, _ in verdicts] == ["py-poison"]
    assert verdicts[0][0].headers["warden-status"] == 400
    assert json.loads(verdicts[0][1])["error"]["code"] == "invalid_json"
    assert [body for _, body in dead] == [b"not json at all"]
    assert dead[0][0].headers["x-death"][0]["reason"] == "rejected"
