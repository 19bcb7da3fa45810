"""Installing what the stack runs on a Debian machine: redis-server and Java with apt-get (as
root; otherwise the exact command to run is the error)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from rich.console import Console

from stack.common import StackError, last_lines, step

_apt_updated = False


def apt_install(packages: list[str], why: str, console: Console | None) -> None:
    """`apt-get install -y` as root (after one `apt-get update`), else say what to run."""
    global _apt_updated
    command = f"apt-get update && apt-get install -y {' '.join(packages)}"
    if shutil.which("apt-get") is None:
        raise StackError(f"{why}; install {' '.join(packages)} with your package manager")
    if os.geteuid() != 0:
        raise StackError(f"{why}; install it with: sudo sh -c '{command}'")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Never let the package start its own service (it would take the default port): Debian's
    # policy-rc.d convention, as container images do. Only added if the machine has none.
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = False
    if not policy.exists():
        with contextlib.suppress(OSError):
            policy.write_text("#!/bin/sh\n# added by chotdon stack while installing\nexit 101\n")
            policy.chmod(0o755)
            added_policy = True
    try:
        with step(console, f"installing {' '.join(packages)} with apt-get (first run only)"):
            steps = [["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]]
            if not _apt_updated:
                steps.insert(0, ["apt-get", "update", "-q"])
            for argv in steps:
                result = subprocess.run(
                    argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
                )
                if result.returncode != 0:
                    tail = last_lines(result.stderr or result.stdout, 3)
                    raise StackError(f"`{' '.join(argv)}` failed ({tail}); run: {command}")
                if argv[1] == "update":
                    _apt_updated = True
    finally:
        if added_policy:
            policy.unlink(missing_ok=True)


def redis_server_binary(console: Console | None) -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        apt_install(["redis-server"], "redis-server is not installed", console)
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\d+)\.", version)
    if match and int(match.group(1)) < 7:
        raise StackError(f"{found} is {version.split()[2]}; chotdon needs Redis 7 or newer")
    return found


def java_binary(console: Console | None) -> str:
    java = shutil.which("java")
    if java is None:
        apt_install(["openjdk-17-jre-headless"], "Java 17+ is needed for Kafka", console)
        java = shutil.which("java") or "java"
    result = subprocess.run([java, "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)', result.stderr + result.stdout)
    if match and int(match.group(1)) < 17:
        raise StackError(f"Kafka 4 needs Java 17 or newer; `{java}` is Java {match.group(1)}")
    return java
