"""The commands that change a draft, as HTTP routes: one route per command, for livestream
drafts (`/livestreams/{id}/drafts/{seq}/<action>`) and chat drafts (`/chats/{id}/<action>`).

Each route has its own typed body, so /docs shows what every command takes. The routes are
made from one table, with the signature FastAPI reads built for each (`inspect.Signature`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from orders import commands as model
from web.auth import Principal, require
from web.commands import DraftCommandBody, build, expected_version, send
from web.responses import JsonResponse
from web.roles import Action

Attributes = dict[str, str]


class SetCustomerBody(DraftCommandBody):
    name: str | None = None
    phone: str | None = None
    address: str | None = None
    ward: str | None = None
    province: str | None = Field(default=None, description="today's 34, or an old name")
    note: str | None = None


class PickProductBody(DraftCommandBody):
    line: int = Field(description="the 1-based line, an unknown-code line")
    code: str
    attributes: Attributes = Field(default_factory=dict)


class ChooseVariantBody(DraftCommandBody):
    line: int
    attributes: Attributes


class SetQuantityBody(DraftCommandBody):
    line: int
    qty: int


class RemoveLineBody(DraftCommandBody):
    line: int


class AddLineBody(DraftCommandBody):
    code: str
    attributes: Attributes = Field(default_factory=dict)
    qty: int = 1


class AddCustomBody(DraftCommandBody):
    name: str
    price: int = Field(description="in đồng")
    qty: int = 1


class AssignBody(DraftCommandBody):
    assignee: str


class FinaliseBody(DraftCommandBody):
    action: Literal["create", "deliver_now", "send_to_store", "save", "cancel"]


ACTIONS: dict[str, tuple[type[BaseModel], type[DraftCommandBody], str]] = {
    "set-customer": (model.SetCustomer, SetCustomerBody, "set the customer's details"),
    "pick-product": (model.PickProduct, PickProductBody, "re-pick an unknown code's product"),
    "choose-variant": (model.ChooseVariant, ChooseVariantBody, "choose a line's variant"),
    "set-quantity": (model.SetQuantity, SetQuantityBody, "change a line's quantity"),
    "remove-line": (model.RemoveLine, RemoveLineBody, "remove a line"),
    "add-line": (model.AddLine, AddLineBody, "add a catalogue product"),
    "add-custom": (model.AddCustomLine, AddCustomBody, "add an ad-hoc product"),
    "assign": (model.Assign, AssignBody, "assign the draft to a staff member"),
    "finalise": (model.Finalise, FinaliseBody,
                 "finish the draft: create, deliver_now, send_to_store, save or cancel"),
}  # fmt: skip

Address = Callable[[Request, Principal, dict[str, Any]], Awaitable[dict[str, Any]]]


def add_draft_routes(router: APIRouter, prefix: str, address: Address, tag: str) -> None:
    """One POST route per action under `prefix` (whose path parameters `address` turns into
    the command's address fields, checking the caller's shop)."""
    path_params = [name.strip("{}") for name in prefix.split("/") if name.startswith("{")]
    for action, (command_model, body_model, summary) in ACTIONS.items():
        router.add_api_route(
            f"{prefix}/{action}",
            _endpoint(command_model, body_model, path_params, address),
            methods=["POST"],
            summary=summary,
            tags=[tag],
            response_class=JsonResponse,
        )


def _endpoint(
    command_model: type[BaseModel],
    body_model: type[DraftCommandBody],
    path_params: list[str],
    address: Address,
) -> Callable[..., Awaitable[JsonResponse]]:
    async def endpoint(**kwargs: Any) -> JsonResponse:
        request: Request = kwargs["request"]
        who: Principal = kwargs["who"]
        body: DraftCommandBody = kwargs["body"]
        where = await address(request, who, {name: kwargs[name] for name in path_params})
        fields = body.model_dump(exclude={"command_id", "expect_version"})
        command = build(
            command_model,
            who,
            body.command_id,
            expect_version=expected_version(body, kwargs["if_match"]),
            **where,
            **fields,
        )
        return await send(request, command)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        *(
            inspect.Parameter(name, keyword, annotation=int if name == "seq" else str)
            for name in path_params
        ),
        inspect.Parameter("body", keyword, annotation=body_model),
        inspect.Parameter("if_match", keyword, annotation=str | None, default=Header(default=None)),
        inspect.Parameter(
            "who", keyword, annotation=Principal, default=Depends(require(Action.EDIT_DRAFTS))
        ),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = f"{command_model.__name__.lower()}_{'_'.join(path_params)}"
    return endpoint
