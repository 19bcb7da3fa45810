"""Automation's work: shop rules evaluated on order and draft events, acted on through commands
(stream/automation_intake.py reads the events and hands them here).

`handle` takes one record of `chotdon.order-events` or `chotdon.draft-events`, works out the
triggers it means (order created, status changed; draft created, customer flagged, waitlist
promoted), evaluates the shop's rules (orders/automation/rules.py, pure) and publishes the
planned actions as ordinary commands on `chotdon.order-commands`, with `staff_id` "automation".
The command agent applies them like any staff command: validated, recorded, published. Their ids
derive from the event, so an event delivered twice sends the same commands and they act once.
Events that automation commands caused are not evaluated again: rules never trigger each other.

Draft triggers need the draft's past: the agent keeps a snapshot per draft (shop store,
`remember_draft`). It reads the snapshot, publishes the commands, and only then stores the new
snapshot, so a crash in between repeats the (idempotent) commands rather than losing them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from config.automation import Group
from config.settings import Topics
from config.shop import ShopConfig
from orders.automation.rules import (
    AUTOMATION_STAFF,
    Facts,
    PlannedAction,
    customer_history,
    draft_facts,
    group_members,
    is_automation,
    order_facts,
    planned_actions,
)
from orders.commands import (
    Assign,
    AssignOrder,
    AssignOwner,
    ChangeStatus,
    SendMessage,
    TagOrder,
)
from orders.shop.store import ShopStore
from stream import metrics
from stream.pipeline import Record

log = logging.getLogger("chotdon.automation")
CONFIG_TTL = 2.0  # seconds: a changed rule set applies within this
DRAFT_TRIGGERS = ("draft_created", "customer_flagged", "waitlist_promoted")
Json = dict[str, Any]
Publish = Callable[[Sequence[tuple[str, bytes | None, bytes]]], Awaitable[None]]


class AutomationProcessor:
    def __init__(self, shops: ShopStore, publish: Publish, topics: Topics) -> None:
        self.shops = shops
        self.publish = publish
        self.topics = topics
        self._configs: dict[str, tuple[float, ShopConfig | None]] = {}
        self._shops: dict[str, str] = {}  # livestream -> its shop: fixed once started

    async def _wants_drafts(self, key: bytes | None) -> bool:
        """Whether the shop of this draft event's livestream (its key) has draft rules."""
        if not key:
            return True  # not keyed as the pipeline keys them: decode it and see
        livestream = key.decode(errors="replace")
        shop_id = self._shops.get(livestream) or await self.shops.shop_of_livestream(livestream)
        if shop_id is not None:
            self._shops[livestream] = shop_id
        shop = None if shop_id is None else await self._config(shop_id)
        return shop is not None and any(rule.on in DRAFT_TRIGGERS for rule in shop.rules)

    async def _config(self, shop_id: str) -> ShopConfig | None:
        """The shop's configuration, read at most every CONFIG_TTL seconds: draft events come
        by the thousand during a live, and most shops have no draft rules."""
        now = time.monotonic()
        cached = self._configs.get(shop_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        config = await self.shops.config(shop_id)
        self._configs[shop_id] = (now + CONFIG_TTL, config)
        return config

    async def handle(self, record: Record) -> list[Any]:
        """Evaluate one event; publish (and return) the commands its rules planned."""
        if record.topic == self.topics.draft_events and not await self._wants_drafts(record.key):
            return []  # most shops have no draft rules: not even decoded, during a flood
        try:
            event = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            log.warning("automation skips an unreadable record at %s:%d", record.topic,
                        record.offset)  # fmt: skip
            return []
        if record.topic == self.topics.draft_events:
            return await self._draft_event(event)
        return await self._order_event(event)

    async def _order_event(self, event: Json) -> list[Any]:
        kind = event.get("kind")
        if kind not in ("created", "status_changed") or is_automation(event):
            return []
        shop = await self._config(event["shop_id"])
        if shop is None or not shop.rules:
            return []
        order = await self.shops.order(event["shop_id"], event["order_id"])
        if order is None:
            return []
        customer = await self.shops.customer_of(shop.shop.id, order_id=order["order_id"])
        new, returned = customer_history(customer, order["order_id"])
        if kind == "created":
            facts = order_facts("order_created", order, new_customer=new, returned=returned)
        else:
            facts = order_facts(
                "status_changed", order, new_customer=new, returned=returned,
                from_status=event["from"], to_status=event["to"], change_id=event["command_id"],
            )  # fmt: skip
        commands = await self._commands(shop, facts, event["at"])
        await self._send(commands)
        return commands

    async def _draft_event(self, event: Json) -> list[Any]:
        draft, shop_id = event["draft"], event["shop_id"]
        shop = await self._config(shop_id)
        if shop is None or not any(rule.on in DRAFT_TRIGGERS for rule in shop.rules):
            return []
        live, seq = draft["livestream_id"], int(draft["seq"])
        before = await self.shops.recall_draft(shop_id, live, seq)
        customer = await self.shops.customer_of(
            shop_id, platform=draft["customer"]["platform"], user_id=draft["customer"]["user_id"]
        )
        new, returned = customer_history(customer)
        facts_list = []
        if before is None:
            facts_list.append(draft_facts("draft_created", draft, new_customer=new,
                                          returned=returned))  # fmt: skip
        flagged = bool(event.get("warnings"))
        if flagged and not (before or {}).get("flagged"):
            facts_list.append(draft_facts("customer_flagged", draft, new_customer=new,
                                          returned=returned))  # fmt: skip
        for line, cause in _promotions(before, draft):
            facts_list.append(draft_facts("waitlist_promoted", draft, new_customer=new,
                                          returned=returned, line=line, cause=cause))  # fmt: skip
        commands = []
        for facts in facts_list:
            commands.extend(await self._commands(shop, facts, event["emitted_at"]))
        await self._send(commands)
        await self.shops.remember_draft(shop_id, live, seq, _snapshot(draft, flagged))
        return commands

    async def _commands(self, shop: ShopConfig, facts: Facts, at: str) -> list[Any]:
        commands = []
        for planned in planned_actions(shop.rules, facts):
            command = await self._command(shop, facts, planned, str(at))
            if command is not None:
                commands.append(command)
                metrics.AUTOMATION_ACTIONS.labels(planned.action.kind).inc()
        return commands

    async def _command(
        self, shop: ShopConfig, facts: Facts, planned: PlannedAction, at: str
    ) -> Any | None:
        """The command that carries out one planned action."""
        common: Json = {"command_id": planned.command_id, "staff_id": AUTOMATION_STAFF,
                        "issued_at": at, "shop_id": shop.shop.id}  # fmt: skip
        subject, action = facts.subject, planned.action
        kind, value = action.kind, action.value
        group = value.group if isinstance(value, Group) else None
        person = None if isinstance(value, Group) else value
        if kind == "assign_owner":
            who = ({"order_id": subject["order_id"]} if facts.kind == "order" else
                   {"platform": subject["customer"]["platform"],
                    "user_id": subject["customer"]["user_id"]})  # fmt: skip
            return AssignOwner(**common, **who, owner=person, group=group)
        if kind == "assign_staff" and facts.kind == "order":
            return AssignOrder(**common, order_id=subject["order_id"], assignee=person,
                               group=group)  # fmt: skip
        if kind == "assign_staff":
            if group is not None:
                members = group_members(shop.staff, group)
                person = await self.shops.take_turn(shop.shop.id, group, members,
                                                    planned.command_id)  # fmt: skip
            return Assign(**common, livestream_id=subject["livestream_id"],
                          seq=subject["seq"], assignee=person)  # fmt: skip
        if kind == "add_tag":
            return TagOrder(**common, order_id=subject["order_id"], tag=value)
        if kind == "set_status":
            return ChangeStatus(**common, order_ids=[subject["order_id"]], to=value)
        if kind == "send_message":
            about = ({"order_id": subject["order_id"]} if facts.kind == "order" else
                     {"livestream_id": subject["livestream_id"], "seq": subject["seq"],
                      "line": _position(subject, facts.line)})  # fmt: skip
            return SendMessage(**common, template=value, **about)
        log.warning("rule %r: no command for %s on a %s", planned.rule, kind, facts.kind)
        return None

    async def _send(self, commands: list[Any]) -> None:
        for command in commands:
            log.info("automation: %s %s (%s)", command.type, command.key, command.command_id)
        if commands:
            await self.publish([
                (self.topics.order_commands, c.key.encode(),
                 orjson.dumps(c.model_dump(mode="json")))
                for c in commands
            ])  # fmt: skip


def _snapshot(draft: Json, flagged: bool) -> Json:
    """What the next event of this draft is compared with: each line's held units and place."""
    return {
        "flagged": flagged,
        "lines": [[line.get("code"), line.get("attributes"), line["reserved"], line["waitlist"]]
                  for line in draft.get("lines", [])],
    }  # fmt: skip


def _promotions(before: Json | None, draft: Json) -> list[tuple[Json, str]]:
    """Lines that were waiting and now hold more units: (line, cause). The cause names the
    move (units before and after), so the same promotion seen twice is one event."""
    if before is None:
        return []
    was = {(orjson.dumps(code), orjson.dumps(attrs)): (held, place)
           for code, attrs, held, place in before.get("lines", [])}  # fmt: skip
    out = []
    for line in draft.get("lines", []):
        key = (orjson.dumps(line.get("code")), orjson.dumps(line.get("attributes")))
        held, place = was.get(key, (None, None))
        if place is not None and held is not None and line["reserved"] > held:
            out.append((line, f"held{held}-{line['reserved']}"))
    return out


def _position(draft: Json, line: Json | None) -> int | None:
    if line is None:
        return None
    for i, candidate in enumerate(draft.get("lines", []), start=1):
        if candidate is line or candidate == line:
            return i
    return None
