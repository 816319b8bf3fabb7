#!/usr/bin/env bash
# End-to-end check of `warden worker --amqp-url` on a real RabbitMQ, run by hand (make test runs smaller, faster
# versions of the same checks in Tests/WardenStreamTests and Tests/AMQPPy). Each run starts a private broker
# (Debian's rabbitmq-server: its own node name, data folder and loopback ports) and removes it afterwards.
#
#   scripts/amqp_e2e.sh            10,000 chat messages (Benchmarks/corpus/chat.txt, repeated), each with its own
#                                  message_id, in a quorum queue, 3 workers; kill -9 one after a third of the
#                                  verdicts (--restart-killed starts one in its place). Then the same with a broker
#                                  restart (same node and data) instead. Prints source messages, verdicts, distinct
#                                  ids answered, duplicate verdicts, verdicts of redeliveries, ready/unacked left
#                                  (rabbitmqctl list_queues); exit 1 when a message is lost or left unacked.
#   scripts/amqp_e2e.sh kill       only the kill -9 run;  scripts/amqp_e2e.sh restart: only the broker restart run
#   scripts/amqp_e2e.sh bench      throughput: one worker against `warden score` on the same 10,000 messages as
#                                  JSON Lines (run before and after it, cache off), the ratio, the worker's peak RSS; prints the CPU
#                                  and the load averages. Options: --messages N, --model DIR, --timeout S.
#
# Uses $WARDEN_BINARY, else .build/release/warden (make release), else .build/debug/warden, the default model unless
# --model, rabbitmq-server from scripts/setup.sh and pika from .venv-amqp (scripts/test_amqp_py.sh installs it).
# Every wait is bounded (--timeout, 600 s). Exit status 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-e2e}"
[ $# -gt 0 ] && shift
[ -x .venv-amqp/bin/python ] || { echo "amqp_e2e: run scripts/test_amqp_py.sh once to make .venv-amqp" >&2; exit 1; }
PYTHONPATH=scripts exec timeout 1800 .venv-amqp/bin/python -m e2e.amqp_e2e "$mode" "$@"
