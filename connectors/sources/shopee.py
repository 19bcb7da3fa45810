"""Shopee Live: a `v2.livestream.get_latest_comment_list` response.

`{request_id, error, message, response{next_offset, list[{comment_id, content, timestamp,
user_id, username}]}}`; a non-empty `error` is refused with Shopee's message. `timestamp` is
in seconds. Shopee documents no order for `list` ("comments in the last 10 seconds"): the
comments are sorted stably by time. A missing or zero user_id means no known commenter.
"""

from __future__ import annotations

from connectors.sources._common import (
    At,
    as_list,
    as_object,
    comment,
    epoch_time,
    identifier,
    in_time_order,
    load_json,
    member,
    required,
    text,
)
from stream.messages import Comment

PLATFORM = "shopee"


def _comment(item: object, at: At, shop_id: str, livestream_id: str) -> Comment:
    obj = as_object(item, at)
    user_id = identifier(*member(obj, at, "user_id"), optional=True)
    return comment(
        at,
        id=identifier(*required(obj, at, "comment_id")),
        platform=PLATFORM,
        shop_id=shop_id,
        livestream_id=livestream_id,
        user_id=None if user_id == "0" else user_id,
        user_name=text(*member(obj, at, "username"), optional=True),
        text=text(*required(obj, at, "content")),
        created_at=epoch_time(*required(obj, at, "timestamp"), digits_ok=True),
    )


def parse(payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]:
    """A get_latest_comment_list response -> comments, oldest first (stable)."""
    at = At("shopee")
    document = as_object(load_json(payload, at), at)
    error, error_at = member(document, at, "error")
    if error:  # "" or absent: success
        message = document.get("message") or "no message"
        raise error_at.error(f"Shopee refused the request: {error!s}: {message!s}"[:300])
    response, response_at = required(document, at, "response")
    items, items_at = required(as_object(response, response_at), response_at, "list")
    return in_time_order(
        _comment(item, items_at / index, shop_id, livestream_id)
        for index, item in enumerate(as_list(items, items_at))
    )
