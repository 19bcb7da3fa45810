"""Staff commands from HTTP: built from a request body, sent through Kafka exactly as the CLI
sends them (stream/client.py), answered with their outcome.

The API answers what the worker answered. Applied: 200 with the outcome (and the draft with
its new `version`). Refused: every reason with its code and field, and the status that says
what kind of refusal it is: 404 when what it names does not exist, 409 when the draft changed
since the caller read it or is no longer open (the body has the draft as it is now), 422 for
the rest. No outcome in time: 504 with the command id; sending the same command id again is
safe (the worker applies a command id once) and answers its outcome.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orders.commands import Command, Outcome
from orders.model import draft_version
from stream.client import NoOutcome, new_command_id, now_iso
from web.auth import Principal
from web.errors import ApiError, error_body, validation_reasons, web_reason
from web.responses import JsonResponse
from web.services import services

OUTCOME_WAIT_SECONDS = 15.0
NOT_FOUND_CODES = frozenset(
    {"draft_not_found", "livestream_not_found", "order_not_found", "chat_not_found",
     "customer_not_found", "shop_not_configured"}
)  # fmt: skip
CONFLICT_CODES = frozenset({"draft_changed", "draft_not_open", "chat_in_progress"})
VERSION = r"^[0-9a-f]{40}$"


class CommandBody(BaseModel):
    """What every command body may carry besides its own fields."""

    model_config = ConfigDict(extra="forbid")

    command_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="your own id, to retry safely: the same id is applied once",
    )


class DraftCommandBody(CommandBody):
    expect_version: str | None = Field(
        default=None,
        pattern=VERSION,
        description="the draft's `version` (its ETag) as you saw it; the draft changed since "
        "is refused with 409, never overwritten. `If-Match` does the same",
    )


def with_version(draft: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if draft is None else {**draft, "version": draft_version(draft)}


def expected_version(body: DraftCommandBody, if_match: str | None) -> str | None:
    header = None
    if if_match:
        header = if_match.strip().removeprefix("W/").strip('"')
    if header and body.expect_version and header != body.expect_version:
        raise ApiError.of(400, "version_mismatch", "expect_version")
    return header or body.expect_version


def build(model: type[BaseModel], who: Principal, command_id: str | None, **fields: Any) -> Any:
    """The command, acting as the caller (the body never says who acts)."""
    try:
        return model.model_validate(
            {
                "command_id": command_id or new_command_id(),
                "staff_id": who.staff_id,
                "issued_at": now_iso(),
                **fields,
            }
        )
    except ValidationError as error:
        raise ApiError(422, validation_reasons(error)) from None


async def send(request: Request, command: Command) -> JsonResponse:
    try:
        outcome = await services(request).commands.send(command, OUTCOME_WAIT_SECONDS)
    except NoOutcome:
        raise ApiError(
            504,
            [web_reason("no_outcome", seconds=int(OUTCOME_WAIT_SECONDS))],
            command_id=command.command_id,
        ) from None
    return outcome_response(outcome)


def outcome_response(outcome: Outcome) -> JsonResponse:
    body = outcome.model_dump(mode="json")
    draft = with_version(body.get("draft"))
    body["draft"] = draft
    headers = {"ETag": f'"{draft["version"]}"'} if draft is not None else None
    if outcome.status == "applied":
        return JsonResponse({"outcome": body, "draft": draft}, headers=headers)
    codes = {reason.code for reason in outcome.reasons}
    if codes & CONFLICT_CODES:
        status = 409
    elif codes and codes <= NOT_FOUND_CODES:
        status = 404
    else:
        status = 422
    return JsonResponse(
        error_body(outcome.reasons, outcome=body, draft=draft), status_code=status, headers=headers
    )
