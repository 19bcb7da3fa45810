"""The processes and ports of the local stack: start detached children, recognise our own
by pid file and command line, stop them, and probe ports."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from stack.common import Layout, StackError, last_lines

_LOCAL_HOSTS = {"localhost", "::1", "0.0.0.0"}

# Children started by this Python process, so that they can be reaped when they exit (a zombie
# would otherwise look alive) and so that Popen does not warn about them being still alive.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def cmdline(pid: int) -> str:
    if Path("/proc/self/cmdline").exists():
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return ""
        return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    result = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


def alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rfind(")") + 2 :].startswith("Z"):
            return False
    return True


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def our_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in `pid_file` if that process is alive and is the one we started."""
    pid = read_pid(pid_file)
    if pid is None or not alive(pid):
        return None
    return pid if marker in cmdline(pid) else None


def spawn(
    argv: list[str], *, cwd: Path, log_file: Path, pid_file: Path, append: bool = True
) -> int:
    """Start a detached child (own session, output to `log_file`) and record its pid."""
    with log_file.open("ab" if append else "wb") as out:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[child.pid] = child
    pid_file.write_text(f"{child.pid}\n")
    return child.pid


def stop_processes(pids: dict[str, int], timeouts: dict[str, float]) -> None:
    """SIGTERM every pid, wait for each within its timeout, SIGKILL what is left."""
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    started = time.monotonic()
    pending = dict(pids)
    while pending:
        for name, pid in list(pending.items()):
            if not alive(pid):
                del pending[name]
            elif time.monotonic() - started > timeouts[name]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                if time.monotonic() - started > timeouts[name] + 10:
                    raise StackError(f"{name} (pid {pid}) did not stop, even after SIGKILL")
        if pending:
            time.sleep(0.05)


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """One `up` or `down` at a time per stack dir."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_local(host: str) -> bool:
    return host in _LOCAL_HOSTS or host.startswith("127.")


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise StackError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return False


def can_connect(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def checked(argv: list[str], what: str) -> str:
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"{what} failed: {last_lines(result.stderr + result.stdout, 2)}")
    return result.stdout


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for tests and throwaway stacks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
