"""A local TCP proxy that a fault test controls: what a bad network does between a worker and
Redis or Kafka, without touching either.

The proxy runs its own event loop in a thread, so a test that blocks (a subprocess, a sleepy
assertion) never adds latency of its own. Point the worker at `proxy.port` instead of the
server's; then

- `latency(seconds)`: every chunk, both ways, arrives `seconds` late (order kept);
- `drop()`: every open connection is reset at once (RST, as a crashed middlebox does);
- `half_open()`: connections stay open and silent: nothing goes through either way, no FIN,
  no RST (a peer that vanished; the client only notices by its own timeout). New connections
  are accepted and just as silent, until `heal()`;
- `lose_replies()`: requests still reach the server, its replies are thrown away (a link that
  failed one way after the request went out: the server acted, the client never hears it).
  New connections too, until `heal()`;
- `refuse()`: new connections are refused (the port closes) and open ones are reset;
- `heal()`: back to a good network for new connections; connections made silent or deaf stay
  so (their bytes were thrown away, so their streams are broken for good).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 64 * 1024


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    silent: bool = False
    deaf: bool = False  # the server's replies are thrown away
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0): the peer sees 'connection reset'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listen_port = listen_port
        self.port = 0
        self.delay = 0.0
        self.silent = False
        self.deaf = False
        self.accepted = 0
        self._links: set[_Link] = set()
        self._server: asyncio.base_events.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._close(reset_links=True))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------------

    def latency(self, seconds: float) -> None:
        self.delay = seconds

    def drop(self) -> None:
        self._call(self._drop_all())

    def half_open(self) -> None:
        async def silence() -> None:
            self.silent = True
            for link in self._links:
                link.silent = True

        self._call(silence())

    def lose_replies(self) -> None:
        async def deafen() -> None:
            self.deaf = True
            for link in self._links:
                link.deaf = True

        self._call(deafen())

    def refuse(self) -> None:
        self._call(self._close(reset_links=True))

    def heal(self) -> None:
        self.delay = 0.0
        self.silent = False
        self.deaf = False
        if self._server is None:
            self._call(self._listen())

    @property
    def open_links(self) -> int:
        return len(self._links)

    # -- the loop's side -------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _listen(self) -> None:
        # The same port again after refuse(), so that clients find the proxy where it was.
        for _ in range(100):
            try:
                self._server = await asyncio.start_server(
                    self._accept, "127.0.0.1", self.port or self._listen_port, reuse_address=True
                )
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"the proxy could not listen on port {self.port} again")
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self, *, reset_links: bool) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if reset_links:
            await self._drop_all()

    async def _drop_all(self) -> None:
        for link in list(self._links):
            self._end(link)

    def _end(self, link: _Link) -> None:
        if link not in self._links:
            return
        self._links.discard(link)
        _reset(link.client)
        _reset(link.server)
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        link = _Link(writer, up_writer, silent=self.silent, deaf=self.deaf)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer, replies=False)),
            asyncio.create_task(self._pump(link, up_reader, writer, replies=True)),
        ]

    async def _pump(
        self,
        link: _Link,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        *,
        replies: bool,
    ) -> None:
        """Forward one direction through a queue, so latency delays without reordering."""
        queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()

        def lost() -> bool:
            return link.silent or (replies and link.deaf)

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if data is None:  # the source closed: everything before it is delivered
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if lost():
                    continue
                sink.write(data)
                await sink.drain()

        delivering = asyncio.create_task(deliver())
        try:
            while True:
                data = await source.read(CHUNK)
                if not data:
                    break
                if lost():
                    continue  # thrown away: the peer hears nothing, not even a FIN
                queue.put_nowait((time.monotonic() + self.delay, data))
            queue.put_nowait((0.0, None))
            await delivering
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            delivering.cancel()
            self._end(link)  # one side closed (a silent link: the client gave up): both go
