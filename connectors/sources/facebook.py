"""Facebook live comments: Graph API polling, the streaming-graph SSE stream, Page webhooks.

- `parse_graph`: `GET /{live-video-id}/comments` (`data[]` of `{id, created_time, from, message}`).
  Sorted oldest first, stably: with `order=reverse_chronological` Graph returns newest first,
  and nothing in the response says which order was asked for.
- `iter_sse` / `parse_sse`: `streaming-graph.facebook.com/{live-video-id}/live_comments`, one
  comment object per Server-Sent Event, read line by line as it arrives. Kept in arrival order
  (the stream's order is the platform's order; a live stream cannot be sorted).
- `parse_webhook`: a Page webhook delivery, `feed` changes with `item == "comment"` and
  `verb == "add"`; everything else (reactions, edits, removals, other fields) is skipped.
  `live_video_changes` reads the `live_videos` changes instead: they tell when a live starts
  and stops.

Comment ids are kept as Facebook writes them (`<object id>_<comment id>`). A comment without
`from` (the token may not see who wrote it) has user_id None and user_name "". Times are ISO
8601 (`2026-01-01T13:00:02+0000`) in Graph and SSE, epoch seconds in webhooks; both forms are
accepted everywhere (Graph also sends epoch seconds when asked with `date_format=U`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from connectors.sources._common import (
    At,
    JsonObject,
    SourceError,
    as_list,
    as_object,
    comment,
    epoch_time,
    identifier,
    in_time_order,
    iso_time,
    load_json,
    member,
    required,
    text,
)
from stream.messages import Comment

PLATFORM = "facebook"


def _time(value: object, at: At) -> datetime:
    if isinstance(value, str):
        return iso_time(value, at)
    return epoch_time(value, at)


def _author(obj: JsonObject, at: At) -> tuple[str | None, str]:
    author, place = member(obj, at, "from")
    if author is None:
        return None, ""
    author_obj = as_object(author, place)
    user_id = identifier(*member(author_obj, place, "id"), optional=True)
    return user_id, text(*member(author_obj, place, "name"), optional=True)


def _refuse_error(document: JsonObject, at: At) -> None:
    """Graph answers a failed request with `{"error": {"message", "type", "code"}}`."""
    error = document.get("error")
    if error is not None:
        details = error if isinstance(error, dict) else {"message": error}
        message = details.get("message") or "no message"
        raise (at / "error").error(f"Facebook refused the request: {message!s}"[:300])


def _graph_comment(item: object, at: At, shop_id: str, livestream_id: str) -> Comment:
    obj = as_object(item, at)
    user_id, user_name = _author(obj, at)
    parent, parent_at = member(obj, at, "parent")  # present when `fields=` asks for it
    reply_to = None
    if parent is not None:
        reply_to = identifier(*required(as_object(parent, parent_at), parent_at, "id"))
    return comment(
        at,
        id=identifier(*required(obj, at, "id")),
        platform=PLATFORM,
        shop_id=shop_id,
        livestream_id=livestream_id,
        user_id=user_id,
        user_name=user_name,
        text=text(*member(obj, at, "message"), optional=True),  # sticker-only: no message
        created_at=_time(*required(obj, at, "created_time")),
        reply_to=reply_to,
    )


def parse_graph(payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]:
    """A Graph API comments response -> comments, oldest first."""
    at = At("facebook graph")
    document = as_object(load_json(payload, at), at)
    _refuse_error(document, at)
    items, items_at = required(document, at, "data")
    return in_time_order(
        _graph_comment(item, items_at / index, shop_id, livestream_id)
        for index, item in enumerate(as_list(items, items_at))
    )


# --- Server-Sent Events -------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # SSE's line ends only: str.splitlines() would also
# split inside a message holding U+2028 or U+0085


def _line(raw: object, number: int) -> str:
    if isinstance(raw, bytes | bytearray):
        try:
            return raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise SourceError("facebook sse", f"line {number}", f"not UTF-8: {exc}") from None
    if isinstance(raw, str):
        return raw.rstrip("\r\n")
    got = repr(raw)[:60]
    raise SourceError("facebook sse", f"line {number}", f"expected a line of text, got {got}")


def iter_sse(
    lines: Iterable[str | bytes],
    *,
    shop_id: str,
    livestream_id: str,
    on_error: Callable[[SourceError], None] | None = None,
) -> Iterator[Comment]:
    """Comments from a streaming-graph SSE stream, one per event, as the events complete.

    `lines` is one line per item, with or without its line end (a file, or an HTTP client's
    `iter_lines()`). Comment lines (`:` …) are keep-alives; `event`/`id`/`retry` fields are
    ignored, as are events of a type other than `message`. As in the SSE standard, an event
    not terminated by a blank line when the stream ends is dropped (it may be cut short).

    A bad event raises SourceError, which ends the iteration; pass `on_error` to report it
    and carry on with the next event instead (what a live reader wants).
    """
    data: list[str] = []
    event_type = ""
    first_data_line = 0
    for number, raw in enumerate(lines, start=1):
        line = _line(raw, number)
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line:  # a blank line dispatches the event
            if data and event_type in ("", "message"):
                at = At(f"facebook sse line {first_data_line}")
                try:
                    yield _sse_comment("\n".join(data), at, shop_id, livestream_id)
                except SourceError as exc:
                    if on_error is None:
                        raise
                    on_error(exc)
            data, event_type = [], ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            if not data:
                first_data_line = number
            data.append(value)
        elif name == "event":
            event_type = value


def _sse_comment(data: str, at: At, shop_id: str, livestream_id: str) -> Comment:
    document = as_object(load_json(data, at), at)
    _refuse_error(document, at)
    return _graph_comment(document, at, shop_id, livestream_id)


def parse_sse(payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]:
    """A whole SSE text (or its lines) -> comments in stream order."""
    lines: Iterable[object]
    if isinstance(payload, bytes | bytearray):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError("facebook sse", "", f"not UTF-8: {exc}") from None
    if isinstance(payload, str):
        lines = _LINE_BREAK.split(payload)
    elif isinstance(payload, list | tuple):
        lines = payload
    else:
        raise SourceError("facebook sse", "", f"expected SSE text, got {type(payload).__name__}")
    checked = (_line(raw, number) for number, raw in enumerate(lines, start=1))
    return list(iter_sse(checked, shop_id=shop_id, livestream_id=livestream_id))


# --- Page webhooks ------------------------------------------------------------------------


def _changes(
    payload: object, at: At, field: str
) -> Iterator[tuple[JsonObject, At, JsonObject, At]]:
    """(entry, where, change value, where) for every change of `field` in a Page webhook
    delivery, in delivery order."""
    document = as_object(load_json(payload, at), at)
    kind = document.get("object", "page")
    if kind != "page":
        raise (at / "object").error(f"not a Page webhook: object is {kind!r}")
    entries, entries_at = required(document, at, "entry")
    for index, entry in enumerate(as_list(entries, entries_at)):
        entry_at = entries_at / index
        entry_obj = as_object(entry, entry_at)
        changes, changes_at = member(entry_obj, entry_at, "changes")
        if changes is None:  # e.g. a `messaging` entry
            continue
        for number, change in enumerate(as_list(changes, changes_at)):
            change_at = changes_at / number
            change_obj = as_object(change, change_at)
            if change_obj.get("field") == field:
                value, value_at = required(change_obj, change_at, "value")
                yield entry_obj, entry_at, as_object(value, value_at), value_at


def _post_id(value: JsonObject, at: At) -> str | None:
    post_id = identifier(*member(value, at, "post_id"), optional=True)
    post, post_at = member(value, at, "post")
    if post_id is None and post is not None:
        post_id = identifier(*member(as_object(post, post_at), post_at, "id"), optional=True)
    return post_id


def _webhook_comment(value: JsonObject, at: At, shop_id: str, livestream_id: str) -> Comment:
    user_id, user_name = _author(value, at)
    post_id = _post_id(value, at)
    parent_id = identifier(*member(value, at, "parent_id"), optional=True)
    return comment(
        at,
        id=identifier(*required(value, at, "comment_id")),
        platform=PLATFORM,
        shop_id=shop_id,
        livestream_id=livestream_id,
        user_id=user_id,
        user_name=user_name,
        text=text(*member(value, at, "message"), optional=True),
        created_at=_time(*required(value, at, "created_time")),
        # A top-level comment's parent is the post itself. Without the post's id the two
        # cannot be told apart, and the comment is taken as top-level.
        reply_to=parent_id if post_id is not None and parent_id != post_id else None,
    )


def parse_webhook(
    payload: object, *, shop_id: str, livestream_id: str, video_id: str | None = None
) -> list[Comment]:
    """New comments of a Page webhook delivery, oldest first. A Page webhook reports comments
    on every post of the page: give `video_id` (the live video's id, or its post id
    `<page id>_<video id>`) to keep only that live video's comments."""
    at = At("facebook webhook")
    found = []
    for _entry, _entry_at, value, value_at in _changes(payload, at, "feed"):
        if value.get("item") != "comment" or value.get("verb") != "add":
            continue
        if video_id is not None:
            post_id = _post_id(value, value_at) or ""
            if post_id != video_id and not post_id.endswith(f"_{video_id}"):
                continue
        found.append(_webhook_comment(value, value_at, shop_id, livestream_id))
    return in_time_order(found)


@dataclass(frozen=True, slots=True)
class LiveVideoChange:
    """A `live_videos` change: a live video of the page started, stopped or became a video."""

    video_id: str
    status: str  # as Facebook sends it: "live", "live_stopped", "vod", …
    page_id: str | None
    time: datetime | None  # when Facebook sent the change

    @property
    def is_live(self) -> bool:
        return self.status == "live"


def live_video_changes(payload: object) -> list[LiveVideoChange]:
    """Every `live_videos` change of a Page webhook delivery, in delivery order."""
    at = At("facebook webhook")
    changes = []
    for entry, entry_at, value, value_at in _changes(payload, at, "live_videos"):
        entry_time, time_at = member(entry, entry_at, "time")
        changes.append(
            LiveVideoChange(
                video_id=identifier(*required(value, value_at, "id")),
                status=text(*required(value, value_at, "status")),
                page_id=identifier(*member(entry, entry_at, "id"), optional=True),
                time=None if entry_time is None else epoch_time(entry_time, time_at),
            )
        )
    return changes
