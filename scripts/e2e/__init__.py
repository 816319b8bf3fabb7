"""End-to-end runs against real processes on loopback: abuse probes of `warden serve` (abuse, through
scripts/abuse.sh), `warden worker` on a real nats-server -js (nats_e2e, through scripts/nats_e2e.sh) and on a real
RabbitMQ (amqp_e2e, through scripts/amqp_e2e.sh)."""
