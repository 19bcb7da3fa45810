"""`chotdon parse --config SHOP.toml`: JSON lines {"id", "text"} in, one parse result per line out.

The console script is run as a subprocess, as a shop's staff or a script would run it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_shop
from parsers import compile_grammar

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "config" / "shops" / "demo.toml"
CHOTDON = Path(sys.executable).parent / "chotdon"

COMMENTS = [
    {"id": "c1", "text": "chốt A12 M đỏ 2"},
    {"id": "c2", "text": "đẹp quá shop ơi 😍"},
    {"id": "c3", "text": "0912.345.678 chốt MP10"},
    {"id": "c4", "text": "hủy A12"},
    {"id": "c5", "text": "A12 còn size M không ạ?"},
    {"id": "c6", "text": "Z99 2, B3 30 x2"},
    {"id": "c7", "text": "huỷ đơn giúp em"},
    {"id": "c8", "text": ""},
]


def run(stdin: str, *args: str, config: Path | str = DEMO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHOTDON), "parse", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )


def lines_of(comments: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(comment, ensure_ascii=False) + "\n" for comment in comments)


def expected_for(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    grammar = compile_grammar(load_shop(DEMO))
    return [grammar.parse(c["text"], comment_id=c["id"]).to_dict() for c in comments]


def outputs(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture(scope="module", autouse=True)
def console_script_exists() -> None:
    if not CHOTDON.exists():
        pytest.fail(f"console script not installed at {CHOTDON} (pip install -e .)")


def test_parses_each_line_in_order() -> None:
    done = run(lines_of(COMMENTS))
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == expected_for(COMMENTS)


def test_results_are_the_documented_ones() -> None:
    got = outputs(run(lines_of(COMMENTS[:4])).stdout)
    assert got[0] == {
        "comment_id": "c1",
        "intent": "order",
        "phone": None,
        "items": [
            {
                "code": "A12",
                "qty": 2,
                "attributes": {"size": "M", "color": "đỏ"},
                "status": "matched",
            }
        ],
    }
    assert got[1] == {"comment_id": "c2", "intent": "none", "phone": None, "items": []}
    assert got[2]["phone"] == "0912345678"
    assert got[2]["items"] == [{"code": "MP10", "qty": 1, "attributes": {}, "status": "matched"}]
    assert got[3]["intent"] == "cancel"


def test_each_output_line_is_one_json_object() -> None:
    done = run(lines_of(COMMENTS))
    lines = done.stdout.splitlines()
    assert len(lines) == len(COMMENTS)
    for line in lines:
        assert isinstance(json.loads(line), dict)


def test_many_lines_keep_input_order() -> None:
    texts = ["A12 M đỏ {n}", "MP10 x{n}", "đẹp quá {n}", "hủy A12", "B3 30 {n}"]
    comments = [
        {"id": f"id-{n}", "text": texts[n % len(texts)].format(n=n % 9 + 1)} for n in range(3000)
    ]
    done = run(lines_of(comments))
    assert done.returncode == 0, done.stderr
    got = outputs(done.stdout)
    assert [result["comment_id"] for result in got] == [c["id"] for c in comments]
    assert got == expected_for(comments)


def test_a_hostile_comment_loses_no_comment_after_it() -> None:
    # issue 13: a run of more than 4,300 digits made the grammar raise, and `chotdon parse`
    # died there, losing every comment after it
    hostile = [
        {"id": "h1", "text": "MP10 x" + "9" * 5_000},
        {"id": "h2", "text": "9" * 20_000},
        {"id": "h3", "text": "K2 sl 99999999999999999999"},
        {"id": "h4", "text": "a1" * 5_000},
    ]
    comments = [COMMENTS[0], *hostile, *COMMENTS[1:]]
    done = run(lines_of(comments))
    assert done.returncode == 0, done.stderr
    got = outputs(done.stdout)
    assert got == expected_for(comments)
    assert [item["qty"] for result in got[1:4] for item in result["items"]] == [1, 1]


def test_empty_input_gives_no_output() -> None:
    done = run("")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_last_line_without_newline_is_read() -> None:
    done = run(lines_of(COMMENTS[:2]).rstrip("\n"))
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == expected_for(COMMENTS[:2])


def test_non_json_line_is_reported_with_its_number_and_others_processed() -> None:
    good = [COMMENTS[0], COMMENTS[2], COMMENTS[3], COMMENTS[5]]
    stdin = (
        lines_of(good[:2])  # lines 1-2
        + "this is not json {\n"  # line 3
        + lines_of(good[2:])  # lines 4-5
    )
    done = run(stdin)
    assert done.returncode == 1
    assert outputs(done.stdout) == expected_for(good)
    assert re.search(r"\b3\b", done.stderr), done.stderr
    assert "Traceback" not in done.stderr


def test_every_bad_line_is_named() -> None:
    stdin = "{oops\n" + lines_of(COMMENTS[:3]) + "nope\n" + lines_of(COMMENTS[3:4])
    done = run(stdin)
    assert done.returncode == 1
    assert outputs(done.stdout) == expected_for(COMMENTS[:4])
    assert re.search(r"\b1\b", done.stderr), done.stderr
    assert re.search(r"\b5\b", done.stderr), done.stderr


def test_json_that_is_not_a_comment_is_an_error_of_that_line() -> None:
    # Not spelled out in the brief: a line that is JSON but not {"id", "text"} is refused like
    # a non-JSON line (named on stderr, exit 1), and does not stop the other lines.
    stdin = lines_of(COMMENTS[:1]) + '["A12", 2]\n' + '{"id": "x"}\n' + lines_of(COMMENTS[1:2])
    done = run(stdin)
    assert done.returncode == 1
    assert outputs(done.stdout) == expected_for(COMMENTS[:2])
    assert re.search(r"\b2\b", done.stderr) and re.search(r"\b3\b", done.stderr), done.stderr
    assert "Traceback" not in done.stderr


def test_unicode_is_kept_in_output() -> None:
    done = run(lines_of([{"id": "u", "text": "A12 M màu đen"}]))
    result = outputs(done.stdout)[0]
    assert result["items"][0]["attributes"] == {"size": "M", "color": "đen"}


def test_missing_config_is_a_user_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    done = run(lines_of(COMMENTS[:1]), config=missing)
    assert done.returncode == 1
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_broken_config_names_file_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "shop.toml"
    broken.write_text('[shop]\nid = "x"\nname = "y"\n[syntax]\nmax_quantity = "lots"\n')
    done = run(lines_of(COMMENTS[:1]), config=broken)
    assert done.returncode == 1
    assert str(broken) in done.stderr and "syntax.max_quantity" in done.stderr
    assert "Traceback" not in done.stderr


def test_other_shop_config_is_used(tmp_path: Path) -> None:
    shop = tmp_path / "shop.toml"
    shop.write_text(
        '[shop]\nid = "other"\nname = "Other"\n[syntax]\nrequire_keyword = true\n'
        '[[products]]\ncode = "G1"\nname = "Giày"\nprice = 1\n',
        encoding="utf-8",
    )
    comments = [{"id": "1", "text": "G1 2"}, {"id": "2", "text": "chốt G1 2"}]
    got = outputs(run(lines_of(comments), config=shop).stdout)
    assert [result["intent"] for result in got] == ["none", "order"]
    assert got[1]["items"] == [{"code": "G1", "qty": 2, "attributes": {}, "status": "matched"}]
