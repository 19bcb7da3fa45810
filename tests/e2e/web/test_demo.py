"""The main job: `chotdon demo` ends with the dashboard running on the sample livestream, prints
its address and a login that works, and stops (worker too) on Ctrl-C."""

from __future__ import annotations

import dataclasses
import re
import signal
import subprocess
import time

import httpx
import pytest
from live_processes import CHOTDON, ROOT, env_for, unique

from config.settings import Settings

pytestmark = pytest.mark.timeout(300)


def test_the_demo_ends_with_a_dashboard_one_can_log_in_to(live: Settings, stack: Settings) -> None:
    from stack import free_port

    # The demo's `stack up` must find the running test stack: the test stack's dir, as in
    # tests/e2e/test_live_e2e.py's demo test.
    settings = dataclasses.replace(live, stack_dir=stack.stack_dir, http_port=free_port())
    livestream = unique("demo-web")
    env = env_for(settings, CHOTDON_HTTP_PORT=str(settings.http_port))
    demo = subprocess.Popen(
        [str(CHOTDON), "demo", "--comments", "300", "--customers", "40", "--show", "3",
         "--livestream", livestream],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        said = b""
        deadline = time.monotonic() + 240
        while b"password" not in said:
            line = demo.stdout.readline()
            assert line or demo.poll() is None, said.decode(errors="replace")[-2000:]
            said += line
            assert time.monotonic() < deadline, said.decode(errors="replace")[-2000:]
        text = said.decode()
        url = re.search(r"(http://127\.0\.0\.1:\d+/live/\S+)", text)
        password = re.search(r"password (\S+)", text)
        assert url and password, text[-2000:]
        base = url.group(1).split("/live/")[0]
        with httpx.Client(base_url=base, timeout=30) as client:
            ready = time.monotonic() + 30  # the server starts right after the line is printed
            while not _healthy(client):
                assert time.monotonic() < ready and demo.poll() is None, "no dashboard"
                time.sleep(0.1)
            form = client.get("/login")
            token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
            assert token
            logged = client.post("/login", data={
                "shop_id": "shop-demo", "staff_id": "thu", "password": password.group(1),
                "login_csrf": token.group(1)})  # fmt: skip
            assert logged.status_code == 303
            drafts = (client.get(f"/api/v1/livestreams/{livestream}/drafts")).json()
            assert drafts["total"] > 10
            assert any(d["status"] == "finalised" for d in drafts["items"])
            board = client.get(f"/live/{livestream}")
            assert board.status_code == 200 and livestream in board.text
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False
