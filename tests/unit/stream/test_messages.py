"""The topic message models: round trips, time zones, forward compatibility, dead letters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from stream.messages import (
    KNOWN_PLATFORMS,
    Comment,
    DeadLetter,
    DeadLetterReason,
    DraftEvent,
    ValidationError,
    describe_error,
)

ICT = timezone(timedelta(hours=7))


def _comment(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": "100000000000900_100000000000901",
        "platform": "facebook",
        "shop_id": "shop-demo",
        "livestream_id": "live-demo",
        "user_id": "100000000000001",
        "user_name": "Nguyễn Thị Hoa",
        "text": "chốt A12 size M 2 cái",
        "created_at": "2026-01-01T13:00:02+00:00",
    }
    fields.update(changes)
    return fields


def test_comment_reads_json_and_writes_it_back() -> None:
    comment = Comment.from_json(orjson.dumps(_comment()))
    assert comment.v == 1
    assert comment.created_at == datetime(2026, 1, 1, 13, 0, 2, tzinfo=UTC)
    assert comment.reply_to is None
    written = orjson.loads(comment.to_json())
    assert written == {**_comment(), "v": 1, "reply_to": None}
    assert Comment.from_json(comment.to_json()) == comment


def test_comment_accepts_str_and_memoryview() -> None:
    raw = orjson.dumps(_comment())
    assert Comment.from_json(raw.decode()) == Comment.from_json(memoryview(raw))


def test_comment_keeps_the_instant_and_writes_the_zone() -> None:
    comment = Comment.from_json(orjson.dumps(_comment(created_at="2026-01-01T20:00:02+07:00")))
    assert comment.created_at == datetime(2026, 1, 1, 13, 0, 2, tzinfo=UTC)
    assert orjson.loads(comment.to_json())["created_at"] == "2026-01-01T20:00:02+07:00"
    moment = datetime(2026, 1, 1, 20, 0, 2, 500000, tzinfo=ICT)
    built = Comment.model_validate(_comment(created_at=moment))
    assert orjson.loads(built.to_json())["created_at"] == "2026-01-01T20:00:02.500000+07:00"


@pytest.mark.parametrize("naive", ["2026-01-01T13:00:02", datetime(2026, 1, 1, 13, 0, 2)])
def test_comment_refuses_a_time_without_zone(naive: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Comment.model_validate(_comment(created_at=naive))
    assert caught.value.errors()[0]["type"] == "timezone_aware"
    assert describe_error(caught.value).startswith("created_at: a time zone is required")


def test_comment_from_json_names_the_faulty_fields() -> None:
    raw = orjson.dumps(_comment(id="", created_at="2026-01-01T13:00:02", text=None))
    with pytest.raises(ValueError) as caught:  # ValidationError is a ValueError
        Comment.from_json(raw)
    assert isinstance(caught.value, ValidationError)
    detail = describe_error(caught.value)
    assert "id: String should have at least 1 character (got '')" in detail
    assert "text: Input should be a valid string (got None)" in detail
    assert "created_at: a time zone is required" in detail


def test_comment_from_json_refuses_what_is_not_json() -> None:
    with pytest.raises(ValidationError) as caught:
        Comment.from_json(b'{"id": "c1",')
    assert describe_error(caught.value).startswith("not valid JSON: EOF while parsing")


def test_missing_fields_are_listed() -> None:
    with pytest.raises(ValidationError) as caught:
        Comment.from_json(b"{}")
    missing = {error["loc"][0] for error in caught.value.errors() if error["type"] == "missing"}
    assert missing == {
        "id",
        "platform",
        "shop_id",
        "livestream_id",
        "user_id",
        "text",
        "created_at",
    }
    assert "shop_id: Field required" in describe_error(caught.value)


def test_unknown_fields_and_newer_versions_are_read() -> None:
    """Forward compatibility: a newer producer's extra fields do not make dead letters."""
    comment = Comment.from_json(orjson.dumps(_comment(v=2, language="vi", likes=3)))
    assert comment.v == 2
    assert "language" not in orjson.loads(comment.to_json())


def test_platform_is_lower_case_and_open_ended() -> None:
    assert Comment.model_validate(_comment(platform="TikTok")).platform == "tiktok"
    assert Comment.model_validate(_comment(platform="zalo")).platform == "zalo"
    assert set(KNOWN_PLATFORMS) == {"facebook", "tiktok", "youtube", "shopee", "chat"}
    for bad in ("", " facebook", "face book"):
        with pytest.raises(ValidationError):
            Comment.model_validate(_comment(platform=bad))


def test_a_hidden_commenter_is_none_never_empty() -> None:
    comment = Comment.model_validate(_comment(user_id=None, user_name=""))
    assert comment.user_id is None
    with pytest.raises(ValidationError):
        Comment.model_validate(_comment(user_id=""))
    with pytest.raises(ValidationError):
        Comment.model_validate(
            {key: value for key, value in _comment().items() if key != "user_id"}
        )


def test_comment_is_frozen_and_hashable() -> None:
    comment = Comment.model_validate(_comment(reply_to="100000000000900_100000000000800"))
    with pytest.raises(ValidationError):
        comment.text = "changed"  # type: ignore[misc]
    assert len({comment, Comment.model_validate(comment.model_dump())}) == 1


def test_dead_letter_keeps_the_original_bytes() -> None:
    failed_at = datetime(2026, 1, 1, 13, 0, 9, tzinfo=UTC)
    letter = DeadLetter.of_record(
        DeadLetterReason.INVALID_JSON,
        "not valid JSON: EOF while parsing",
        topic="chotdon.comments",
        partition=3,
        offset=41,
        key=b"live-demo",
        value=b'{"id": \xff',
        failed_at=failed_at,
    )
    written = orjson.loads(letter.to_json())
    assert written == {
        "v": 1,
        "reason": "invalid_json",
        "detail": "not valid JSON: EOF while parsing",
        "topic": "chotdon.comments",
        "partition": 3,
        "offset": 41,
        "key": base64.b64encode(b"live-demo").decode(),
        "value_b64": base64.b64encode(b'{"id": \xff').decode(),
        "failed_at": "2026-01-01T13:00:09+00:00",
    }
    back = DeadLetter.from_json(letter.to_json())
    assert back == letter
    assert type(back.reason) is str
    assert back.original_key() == b"live-demo"
    assert back.original_value() == b'{"id": \xff'


def test_dead_letter_without_key_or_value_and_with_default_time() -> None:
    letter = DeadLetter.of_record(
        "undecodable", "no value", topic="t", partition=0, offset=0, key=None, value=None
    )
    assert letter.key is None and letter.original_key() is None
    assert letter.value_b64 is None and letter.original_value() is None
    assert letter.failed_at.tzinfo is not None
    assert abs(datetime.now(UTC) - letter.failed_at) < timedelta(minutes=1)


def test_dead_letter_reasons_are_short_codes() -> None:
    assert [reason.value for reason in DeadLetterReason] == [
        "undecodable",
        "invalid_json",
        "invalid_comment",
        "unknown_livestream",
        "invalid_command",
        "store_refused",
        "unparseable_comment",
    ]
    with pytest.raises(ValidationError):
        DeadLetter.of_record(
            "Bad Reason!", "", topic="t", partition=0, offset=0, key=None, value=b""
        )


def test_draft_event_round_trip() -> None:
    event = DraftEvent(
        shop_id="shop-demo",
        livestream_id="live-demo",
        seq=7,
        draft={"status": "open", "lines": [{"code": "A12", "qty": 2}]},
        comment_ids=["c1", "c2"],
        emitted_at=datetime(2026, 1, 1, 13, 0, 10, tzinfo=UTC),
    )
    assert event.v == 1
    assert DraftEvent.from_json(event.to_json()) == event
    assert orjson.loads(event.to_json())["emitted_at"] == "2026-01-01T13:00:10+00:00"
    with pytest.raises(ValidationError):
        DraftEvent.model_validate({**event.model_dump(), "seq": 0})
    with pytest.raises(ValidationError):
        DraftEvent.model_validate({**event.model_dump(), "emitted_at": "2026-01-01T13:00:10"})
