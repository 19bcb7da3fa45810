"""YouTube live chat: a `liveChatMessages.list` response.

`textMessageEvent` (text: `textMessageDetails.messageText`, or `snippet.displayMessage`) and
`superChatEvent` (text: `superChatDetails.userComment`, "" when the buyer wrote nothing; the
display message is not used, it holds the amount) become comments; every other type
(memberships, milestones, stickers, deleted or retracted messages, bans, …) is skipped.
The author is `authorDetails.channelId`/`displayName` (`snippet.authorChannelId` when the
details are missing). YouTube lists messages oldest first; they are sorted stably anyway.
"""

from __future__ import annotations

from connectors.sources._common import (
    At,
    JsonObject,
    as_list,
    as_object,
    comment,
    identifier,
    in_time_order,
    iso_time,
    load_json,
    member,
    required,
    text,
)
from stream.messages import Comment

PLATFORM = "youtube"
COMMENT_TYPES = ("textMessageEvent", "superChatEvent")


def _text(snippet: JsonObject, at: At, kind: str) -> str:
    if kind == "superChatEvent":
        details, details_at = required(snippet, at, "superChatDetails")
        return text(
            *member(as_object(details, details_at), details_at, "userComment"), optional=True
        )
    details, details_at = member(snippet, at, "textMessageDetails")
    if details is None:
        return text(*required(snippet, at, "displayMessage"))
    return text(*required(as_object(details, details_at), details_at, "messageText"))


def _message(item: object, at: At, shop_id: str, livestream_id: str) -> Comment | None:
    obj = as_object(item, at)
    snippet, snippet_at = required(obj, at, "snippet")
    snippet_obj = as_object(snippet, snippet_at)
    kind = text(*required(snippet_obj, snippet_at, "type"))
    if kind not in COMMENT_TYPES:
        return None
    author, author_at = member(obj, at, "authorDetails")
    author_obj = {} if author is None else as_object(author, author_at)
    user_id = identifier(*member(author_obj, author_at, "channelId"), optional=True)
    if user_id is None:
        user_id = identifier(*member(snippet_obj, snippet_at, "authorChannelId"), optional=True)
    return comment(
        at,
        id=identifier(*required(obj, at, "id")),
        platform=PLATFORM,
        shop_id=shop_id,
        livestream_id=livestream_id,
        user_id=user_id,
        user_name=text(*member(author_obj, author_at, "displayName"), optional=True),
        text=_text(snippet_obj, snippet_at, kind),
        created_at=iso_time(*required(snippet_obj, snippet_at, "publishedAt")),
    )


def parse(payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]:
    """A liveChatMessages list response -> comments, oldest first (stable)."""
    at = At("youtube")
    document = as_object(load_json(payload, at), at)
    error = document.get("error")
    if error is not None:  # {"error": {"code": 403, "message": "…", "errors": […]}}
        message = error.get("message") if isinstance(error, dict) else error
        raise (at / "error").error(f"YouTube refused the request: {message!s}"[:300])
    items, items_at = required(document, at, "items")
    found = (
        _message(item, items_at / index, shop_id, livestream_id)
        for index, item in enumerate(as_list(items, items_at))
    )
    return in_time_order(item for item in found if item is not None)
