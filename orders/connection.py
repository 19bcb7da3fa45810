"""The Redis client for a `CHOTDON_REDIS` URL: one server (`redis://`), or a Redis Cluster
(`redis+cluster://host:port[,host:port…]`).

The stores take either. Every call they make touches the keys of one hash tag (a livestream's
`{shop:live}`, a shop's `{shop}`): the cluster client routes it by that slot, a WATCH/MULTI
transaction runs on the slot's master, and `FUNCTION LOAD` goes to every master (redis-py sends
it to all primaries), so the same code serves both.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff

from config.settings import cluster_nodes, is_cluster_url


def redis_client(url: str, *, retries: bool = True, **options: Any) -> Redis:
    """A client for `url`. A cluster client is typed as `Redis`: it answers the same commands
    for keys of one slot, which is all the stores send (see the module docstring).

    `retries=False`: a refused connection or a cluster mid-failover is raised at once, never
    retried inside the client, for a caller that must look at the store again before it goes
    on (the command agent: stream/command_positions.py)."""
    if not is_cluster_url(url):
        if not retries:
            options["retry"] = Retry(NoBackoff(), 0)
        return Redis.from_url(url, **options)
    nodes = [ClusterNode(host, port) for host, port in cluster_nodes(url)]
    # A failover takes the cluster-node-timeout and an election: retry MOVED and refused
    # connections for a while before giving up (the caller's backoff then takes over).
    retry = Retry(ExponentialWithJitterBackoff(base=0.1, cap=1.0), retries=6 if retries else 0)
    cluster = RedisCluster(startup_nodes=nodes, retry=retry, **options)
    return cast(Redis, cluster)


async def drop_idle_connections(client: Redis) -> None:
    """Close the connections idle in `client`'s pool (every node's, on a cluster); they are
    opened again when next needed. A call that timed out met a silent path to Redis (a
    half-open socket: no FIN, no RST), and the connections idle at that moment went silent
    with it: kept, each would be found dead by one more call's whole socket timeout after the
    network came back (the fault suite measured 18-29 s of recovery instead of ~10)."""
    pool_owner = cast(Any, client)
    if isinstance(pool_owner, RedisCluster):
        nodes = pool_owner.get_nodes()
        await asyncio.gather(*(node.disconnect_free_connections() for node in nodes))
    else:
        await pool_owner.connection_pool.disconnect(inuse_connections=False)
