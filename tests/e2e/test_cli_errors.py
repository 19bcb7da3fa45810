"""The command line when Kafka or Redis is not there: one plain line saying what to run, exit 1,
never a traceback."""

from __future__ import annotations

import pytest

from cli.main import main


@pytest.fixture
def nothing_running(monkeypatch: pytest.MonkeyPatch) -> None:
    # port 9 (discard) is not served on the test machines: connections are refused at once
    monkeypatch.setenv("CHOTDON_KAFKA", "127.0.0.1:9")
    monkeypatch.setenv("CHOTDON_REDIS", "redis://127.0.0.1:9/0")


@pytest.mark.parametrize(
    ("argv", "service"),
    [
        (["orders", "--shop-id", "s"], "Redis"),
        (["drafts", "--livestream", "l"], "Redis"),
        (["stats", "--shop-id", "s"], "Redis"),
        (["order", "finalise", "--order", "l-1", "--action", "create", "--staff", "lan"], "Kafka"),
    ],
)
def test_an_unreachable_service_is_one_plain_error(
    nothing_running: None, capsys: pytest.CaptureFixture[str], argv: list[str], service: str
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"chotdon: error: cannot reach {service} at 127.0.0.1:9" in err.replace("redis://", "")
    assert "chotdon stack up" in err and "Traceback" not in err
