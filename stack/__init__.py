"""The local stack: one Kafka broker (KRaft, from Maven Central) and one Redis server.

`chotdon stack up|down|status|prepare` is a thin layer over the functions here (`lifecycle.py`):

- `stack_prepare(settings)` installs what the stack needs without starting anything: Kafka's
  jars (resolved once with Maven into `settings.cache_dir`) and Debian's `redis-server`.
- `stack_up(settings)` starts whatever of the two is not already running, waits until Kafka
  answers a real produce/consume round trip and Redis answers PING, creates chotdon's topics,
  and returns a `StackStatus`. Running it twice is harmless.
- `stack_down(settings)` stops only the processes this module started (recorded in pid files in
  the stack dir and recognised by their command lines), never anything else.
- `stack_status(settings)` says what runs where.

Everything (data, logs, rendered configs, pid files) lives under `settings.stack_dir`:

    <stack_dir>/kafka/{data/, server.properties, kafka.log, stdout.log, pid}
    <stack_dir>/redis/{redis.conf, redis.log, appendonlydir/, pid}

Failures the user can fix raise `StackError`, whose message is meant to be shown as is.

With a `redis+cluster://` CHOTDON_REDIS (`chotdon stack up --redis-cluster`), a local Redis
Cluster of six nodes (3 masters, 3 replicas) takes the single Redis's place, in
`<stack_dir>/redis-cluster/<port>/`; the tests start one of their own the same way.

One module per part: `common` (errors, statuses, layout, progress), `processes` (pids and
ports), `installs` (apt-get), `broker` (Kafka: jars, config, readiness, topics; its pom, log4j2
and broker template are in `kafka/`), `redis_server` (Redis: config, readiness),
`redis_cluster` (the local Redis Cluster: nodes, creation, failover helpers), `lifecycle`
(up, down, status).
"""

from stack.broker import (
    HEALTHCHECK_TOPIC,
    ensure_kafka_jars,
    ensure_topics,
    kafka_lib_dir,
    kafka_round_trip,
    kafka_version,
)
from stack.common import ServiceStatus, StackError, StackStatus
from stack.lifecycle import stack_down, stack_prepare, stack_purge, stack_status, stack_up
from stack.processes import free_port

__all__ = [
    "HEALTHCHECK_TOPIC",
    "ServiceStatus",
    "StackError",
    "StackStatus",
    "ensure_kafka_jars",
    "ensure_topics",
    "free_port",
    "kafka_lib_dir",
    "kafka_round_trip",
    "kafka_version",
    "stack_down",
    "stack_prepare",
    "stack_purge",
    "stack_status",
    "stack_up",
]
