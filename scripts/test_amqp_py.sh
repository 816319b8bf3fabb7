#!/usr/bin/env bash
# Runs Tests/AMQPPy with pika (pinned below), an independent AMQP 0-9-1 client, against the built `warden worker
# --amqp-url` and a real RabbitMQ broker (Debian's rabbitmq-server, installed by scripts/setup.sh) that the suite
# starts on its own ports. pika and pytest go into .venv-amqp (git-ignored), made with Debian's Python; PyPI must
# be reachable the first time.
#
#   scripts/test_amqp_py.sh            after `swift build` (uses .build/debug/warden)
#   WARDEN_BINARY=path scripts/test_amqp_py.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pytest_suite.sh
run_pytest_suite pika .venv-amqp pika 1.4.4 pika Tests/AMQPPy
