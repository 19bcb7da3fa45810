"""The Redis server of the local stack: its configuration (AOF on) and its readiness (PING)."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import IO
from urllib.parse import urlsplit

from config.settings import Settings
from stack.common import POLL, Layout, StackError, last_lines
from stack.processes import alive, is_local

REDIS_START_TIMEOUT = 30.0
REDIS_STOP_TIMEOUT = 15.0


def redis_endpoint(settings: Settings) -> tuple[str, int]:
    host, port = settings.redis_host_port
    if not is_local(host):
        raise StackError(
            f"CHOTDON_REDIS={settings.redis} is not on this machine; `chotdon stack` runs a "
            "local Redis only (unset CHOTDON_REDIS or point it at redis://127.0.0.1:<port>/0)"
        )
    return host, port


def render_redis_config(settings: Settings) -> str:
    host, port = redis_endpoint(settings)
    layout = Layout.of(settings)
    password = urlsplit(settings.redis).password
    lines = [
        "# Written by `chotdon stack up` from the settings; rewritten on every start.",
        f"bind {host}",
        f"port {port}",
        "protected-mode yes",
        "daemonize no",
        f'dir "{layout.redis_dir}"',
        f'pidfile "{layout.redis_pid}"',
        # Logs go to stdout, which `stack up` sends to redis.log.
        'logfile ""',
        "loglevel notice",
        # Durability is the append-only file (fsync every second); no RDB snapshots on top.
        "appendonly yes",
        "appendfsync everysec",
        'save ""',
        # The config path in the process title is how `stack down` recognises its own server.
        'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
    ]
    if password:
        lines.append(f'requirepass "{password}"')
    return "\n".join(lines) + "\n"


def redis_ping(host: str, port: int, password: str | None, timeout: float = 1.0) -> str:
    """One PING over RESP; returns the server's reply line ('+PONG' when ready)."""

    def bulk(*parts: str) -> bytes:
        out = f"*{len(parts)}\r\n".encode()
        for part in parts:
            data = part.encode()
            out += b"$%d\r\n%s\r\n" % (len(data), data)
        return out

    with socket.create_connection((host, port), timeout=timeout) as conn:
        reader: IO[bytes] = conn.makefile("rb")
        if password:
            conn.sendall(bulk("AUTH", password))
            reader.readline()
        conn.sendall(bulk("PING"))
        return reader.readline().decode(errors="replace").strip()


def wait_redis(settings: Settings, layout: Layout, pid: int) -> None:
    host, port = redis_endpoint(settings)
    password = urlsplit(settings.redis).password
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    reply = "no answer"
    while True:
        with contextlib.suppress(OSError):
            reply = redis_ping(host, port, password)
            if reply == "+PONG":
                return
        if not alive(pid):
            tail = last_lines(layout.redis_log.read_text(errors="replace"), 1)
            raise StackError(f"Redis exited while starting ({tail}); see {layout.redis_log}")
        if time.monotonic() > deadline:
            raise StackError(
                f"Redis did not answer PING within {REDIS_START_TIMEOUT:.0f} s ({reply}); "
                f"see {layout.redis_log}"
            )
        time.sleep(POLL)


def redis_marker(layout: Layout) -> str:
    return str(layout.redis_config)
