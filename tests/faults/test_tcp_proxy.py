"""The fault tests' TCP proxy (tests/tcp_proxy.py) does what it says, against a local echo
server: forwards, delays, resets, goes silent, loses replies, refuses and heals."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from tcp_proxy import TcpProxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port: int = server.getsockname()[1]

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # the proxy resets connections on purpose
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield port
    server.close()


def round_trip(port: int, payload: bytes = b"ping", timeout: float = 2.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(payload)
        return conn.recv(4096)


def test_forwards_and_delays(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        assert round_trip(proxy.port) == b"ping"
        proxy.latency(0.3)
        started = time.monotonic()
        assert round_trip(proxy.port) == b"ping"
        assert time.monotonic() - started >= 0.6  # 0.3 s each way


def test_drop_resets_open_connections(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        conn.sendall(b"a")
        assert conn.recv(16) == b"a"
        proxy.drop()
        with pytest.raises(OSError):
            conn.sendall(b"b")
            if not conn.recv(16):
                raise ConnectionResetError("closed")
        conn.close()
        assert round_trip(proxy.port) == b"ping"  # new connections work


def test_half_open_is_silent_until_healed(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        stuck = socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5)
        proxy.half_open()
        stuck.sendall(b"lost")
        with pytest.raises(TimeoutError):
            stuck.recv(16)  # no reply, no FIN, no RST
        with pytest.raises(TimeoutError):
            round_trip(proxy.port, timeout=0.5)  # new connections are accepted, and silent
        proxy.heal()
        assert round_trip(proxy.port) == b"ping"
        with pytest.raises(TimeoutError):
            stuck.recv(16)  # a silenced connection stays broken
        stuck.close()


def test_lost_replies_reach_the_server_and_never_come_back(echo_port: int) -> None:
    """The server gets the request (the echo server sends it back), the client hears nothing."""
    got: list[bytes] = []
    arrived = threading.Event()

    def record_and_echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(4096):
                got.append(data)
                arrived.set()
                conn.sendall(data)

    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: record_and_echo(server.accept()[0]), daemon=True).start()
    with TcpProxy("127.0.0.1", server.getsockname()[1]) as proxy:
        deaf = socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5)
        proxy.lose_replies()
        deaf.sendall(b"acted")
        assert arrived.wait(5)  # the server has it
        with pytest.raises(TimeoutError):
            deaf.recv(16)  # its reply was thrown away
        assert b"".join(got) == b"acted"
        deaf.close()
    server.close()
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        proxy.lose_replies()
        with pytest.raises(TimeoutError):
            round_trip(proxy.port, timeout=0.5)  # new connections too
        proxy.heal()
        assert round_trip(proxy.port) == b"ping"


def test_refuse_closes_the_port_and_heal_reopens_it(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        port = proxy.port
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            round_trip(port)
        proxy.heal()
        assert proxy.port == port
        assert round_trip(port) == b"ping"
