"""Customers: blacklist, owners (round-robin), the inbox window and the message log, the
automation's memory, and reading customers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import orjson

from orders.commands import (
    AssignOwner,
    Blacklist,
    InboundMessage,
    Reason,
)
from orders.model import Json
from orders.reasons import reason
from orders.shop.customers import (
    customer_fields,
    empty_inbox,
    find_customer,
    link_person,
    lookup_fields,
    new_customer,
    note_replied,
    owner_event,
    owner_of,
    phone_field,
    platform_field,
    set_blacklist,
    set_owner,
    sorted_customers,
)
from orders.shop.store.transaction import (
    _ID_RE,
    AUTODRAFT_TTL_SECONDS,
    CHANNELS,
    MESSAGES_KEPT,
    ShopKeys,
    ShopResult,
    StoreBase,
    Tx,
    as_text,
    distinct_members,
    flags_key,
    group_problems,
    load_json,
    normalised_phone,
    shop_prefix,
)


class CustomerCommands(StoreBase):
    async def blacklist(self, cmd: Blacklist) -> ShopResult:
        """Flag (or unflag) a customer, found by platform account first, then phone. Flagging
        someone without a record yet creates one (no orders), so their comments are marked
        from the next one on; unflagging an unknown person is refused (customer_not_found)."""
        phone, problems = normalised_phone(cmd.phone)
        if problems:
            return ShopResult.refused(problems)
        person = {"platform": cmd.platform, "user_id": cmd.user_id, "phone": phone}

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            names = lookup_fields(person)
            index = await self._index(tx, keys, names)
            cid = find_customer(person, index)
            customer = None if cid is None else await tx.get_json(keys.customers, cid)
            if customer is None:
                if not cmd.blacklisted:
                    return ShopResult.refused([reason("customer_not_found", None)])
                new_id = await self._new_customer_id(keys)
                customer = new_customer(new_id, cmd.shop_id, cmd.issued_at)
            customer = link_person(customer, person, cmd.issued_at)
            customer = set_blacklist(customer, cmd.blacklisted, cmd.reason, cmd.issued_at)
            tx.set_json(keys.customers, customer["customer_id"], customer)
            for name in customer_fields(customer):
                if name in names and not index.get(name):
                    tx.set(keys.cidx, name, customer["customer_id"])
            await self._write_flags(tx, keys, customer)
            return ShopResult("applied", customer=customer)

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def _customer_for(
        self, tx: Tx, keys: ShopKeys, order_id: str | None, person: Json
    ) -> tuple[Json | None, Json, list[Reason]]:
        """(the customer record or None, the person to create one for, reasons to refuse): the
        order's customer, else the person's by platform account, then phone."""
        if order_id is not None:
            order = await tx.get_json(keys.orders, order_id)
            if order is None:
                return None, person, [reason("order_not_found", "order_id", order_id=order_id)]
            cid = order["customer"].get("customer_id")
            record = None if not cid else await tx.get_json(keys.customers, cid)
            if record is not None:
                return record, person, []
            if not lookup_fields(person):
                person = {key: order["customer"].get(key)
                          for key in ("platform", "user_id", "phone")}  # fmt: skip
        return await self._customer_by(tx, keys, lookup_fields(person)), person, []

    async def assign_owner(
        self, cmd: AssignOwner, members: Sequence[str] | None = None
    ) -> ShopResult:
        """Set the customer's `owner`: `cmd.owner`, or the next of `members` (the group's
        member ids in the shop configuration's order; None: the shop has no such group) in
        turn. The customer is the order's, else found by platform account, then phone; a person
        without a record yet (a rule on a new draft comes before any order) gets one, as a
        blacklist does. With `keep_existing`, a customer who has an owner keeps them (and takes
        no turn). Event: "owner_assigned" (order_id: the command's, or null), when the owner
        changes."""
        phone, problems = normalised_phone(cmd.phone)
        if problems:
            return ShopResult.refused(problems)
        person = {"platform": cmd.platform, "user_id": cmd.user_id, "phone": phone}

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            problems = group_problems(cmd.group, members)
            if problems:
                return ShopResult.refused(problems)
            customer, who, problems = await self._customer_for(tx, keys, cmd.order_id, person)
            if problems:
                return ShopResult.refused(problems)
            created = customer is None
            if customer is None:
                names = lookup_fields(who)
                if not names:
                    return ShopResult.refused([reason("customer_not_found", None)])
                new_id = await self._new_customer_id(keys)
                customer = link_person(new_customer(new_id, cmd.shop_id, cmd.issued_at),
                                       who, cmd.issued_at)  # fmt: skip
                index = await self._index(tx, keys, names)
                for name in customer_fields(customer):
                    if name in names and not index.get(name):
                        tx.set(keys.cidx, name, customer["customer_id"])
            previous = owner_of(customer)
            if cmd.keep_existing and previous is not None:
                return ShopResult("applied", customer=customer)
            owner = cmd.owner or await self._pick(tx, keys, "owner", str(cmd.group),
                                                  distinct_members(members))  # fmt: skip
            if owner == previous:
                return ShopResult("applied", customer=customer)
            customer = set_owner(customer, owner, cmd.issued_at)
            tx.set_json(keys.customers, customer["customer_id"], customer)
            if created:
                await self._write_flags(tx, keys, customer)
            event = owner_event(customer, previous=previous, order_id=cmd.order_id,
                                staff=cmd.staff_id, at=cmd.issued_at,
                                command_id=cmd.command_id)  # fmt: skip
            return ShopResult("applied", customer=customer, events=[event])

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def record_inbound(self, cmd: InboundMessage) -> ShopResult:
        """The customer wrote to the shop's inbox at `cmd.at`: their state in `S:inbox` keeps
        the latest such time (and conversation), which `record_message`'s check reads."""

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            await self._note_inbound(tx, keys, cmd.platform, cmd.user_id, cmd.at,
                                     cmd.conversation_id)  # fmt: skip
            return ShopResult("applied")

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def record_message(
        self,
        shop_id: str,
        command_id: str,
        message: Json,
        check: Callable[[Json], tuple[str, str] | Json],
    ) -> ShopResult:
        """Decide, once per command id, whether a customer message may be sent, and log it.

        `message` is built by the caller: {"v": 1, "message_id" (= command_id), "shop_id",
        "platform", "user_id", "template", "text", "order_id", "livestream_id", "seq" (or
        null), "at"}. Inside the transaction `check` (pure) gets the person's messaging state
        (customers.empty_inbox's shape: a person who never wrote has the empty state) and
        answers (code, reason) when the message may not be sent, or else the channel it goes
        by: {"channel": "private_reply" | "message", "comment_id"}. The channel depends on the
        state (a comment's one private reply may be used already), hence decided here.
        Allowed: the message is logged in `S:messages` with "sent": true (a private reply's
        comment id joins the state's `replied`), status "applied". Not allowed: logged with
        "sent": false, "reason_code" and "reason", status "refused" with the reason
        message_not_allowed. Either way `result.message` is the logged entry. "sent" means
        the store let it go: the caller sends it after this.
        """
        if message.get("message_id", command_id) != command_id:
            raise ValueError("a message's message_id is the command id that sends it")
        name = platform_field(str(message["platform"]), str(message["user_id"]))

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            state: Json = await tx.get_json(keys.inbox, name) or empty_inbox()
            verdict = check(copy.deepcopy(state))
            entry: Json = {**message, "message_id": command_id, "channel": None,
                           "comment_id": None}  # fmt: skip
            if isinstance(verdict, tuple):
                code, why = verdict
                entry |= {"sent": False, "reason_code": code, "reason": why}
                self._log_message(tx, keys, entry)
                return ShopResult("refused", reasons=[reason("message_not_allowed", None,
                                                             reason=why)],
                                  message=entry)  # fmt: skip
            entry |= {"channel": verdict["channel"], "comment_id": verdict.get("comment_id")}
            if entry["channel"] not in CHANNELS:
                raise ValueError(f"a message's channel is one of {sorted(CHANNELS)}")
            if entry["channel"] == "private_reply" and not entry["comment_id"]:
                raise ValueError("a private reply answers a comment: comment_id is missing")
            entry |= {"sent": True, "reason_code": None, "reason": None}
            self._log_message(tx, keys, entry)
            if entry["channel"] == "private_reply":
                tx.set_json(keys.inbox, name, note_replied(state, str(entry["comment_id"])))
            return ShopResult("applied", message=entry)

        return await self._command(shop_id, command_id, body)

    def _log_message(self, tx: Tx, keys: ShopKeys, entry: Json) -> None:
        tx.write("RPUSH", keys.messages, orjson.dumps(entry))
        tx.write("LTRIM", keys.messages, -MESSAGES_KEPT, -1)

    async def messages(self, shop_id: str, limit: int | None = None) -> list[Json]:
        """The customer messages logged (sent or not), oldest first; `limit`: the latest ones."""
        if limit is not None and limit <= 0:
            return []
        start = 0 if limit is None else -limit
        raws = await self._redis.lrange(ShopKeys.of(shop_id).messages, start, -1)
        return [orjson.loads(raw) for raw in raws]

    async def inbox_state(self, shop_id: str, platform: str, user_id: str) -> Json | None:
        """The person's messaging state (customers.empty_inbox), None if nothing is known."""
        raw = await self._record(ShopKeys.of(shop_id).inbox, platform_field(platform, user_id))
        state: Json | None = load_json(raw)
        return state

    async def take_turn(
        self, shop_id: str, group: str, members: Sequence[str], turn_id: str
    ) -> str:
        """The next member of `group` for a livestream draft's assignment (drafts are assigned
        by a concrete staff id in their own keys): round-robin on the group's `draft` counter,
        once per `turn_id` (the automation command's id), so a redelivered event gets the same
        person and takes no second turn."""
        if not members:
            raise ValueError(f"group {group!r} has no members")

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            pick = await self._pick(tx, keys, "draft", group, members)
            return ShopResult("applied", customer={"pick": pick})

        result = await self._command(shop_id, f"turn:{turn_id}", body)
        return str((result.customer or {})["pick"])

    async def recall_draft(self, shop_id: str, livestream_id: str, seq: int) -> Json | None:
        """The automation's last snapshot of a draft (remember_draft), without changing it."""
        key = f"{shop_prefix(shop_id)}:autodrafts:{livestream_id}"
        snapshot: Json | None = load_json(await self._redis.hget(key, str(seq)))
        return snapshot

    async def remember_draft(
        self, shop_id: str, livestream_id: str, seq: int, snapshot: Json
    ) -> Json | None:
        """Store the automation's snapshot of a livestream draft and return the previous one,
        atomically (one script): None the first time, so the caller learns the draft is new,
        and can compare the two (a waitlist promotion). The livestream's snapshots expire
        AUTODRAFT_TTL days after the last one: a draft event replayed later than that looks
        new again, and the commands it triggers are answered from its `S:cmd:<id>` (their ids are
        derived from the event)."""
        if not _ID_RE.match(livestream_id):
            raise ValueError(f"livestream id {livestream_id!r} must not have braces or spaces")
        key = f"{shop_prefix(shop_id)}:autodrafts:{livestream_id}"
        raw = await self._remember(keys=[key], args=[str(seq), orjson.dumps(snapshot),
                                             AUTODRAFT_TTL_SECONDS])  # fmt: skip
        previous: Json | None = load_json(raw)
        return previous

    async def customers(self, shop_id: str) -> list[Json]:
        keys = ShopKeys.of(shop_id)
        raws = await self._all_records(keys.customers, keys.customer_ids)
        return sorted_customers([orjson.loads(raw) for raw in raws])

    async def customer(self, shop_id: str, customer_id: str) -> Json | None:
        raw = await self._record(ShopKeys.of(shop_id).customers, customer_id)
        customer: Json | None = load_json(raw)
        return customer

    async def customer_of(
        self,
        shop_id: str,
        *,
        order_id: str | None = None,
        platform: str | None = None,
        user_id: str | None = None,
        phone: str | None = None,
    ) -> Json | None:
        """A customer record: the order's customer, else by platform account, then phone (as
        typed: normalised like commands'; a phone that is no mobile number finds nobody)."""
        keys = ShopKeys.of(shop_id)
        if order_id is not None:
            order = load_json(await self._record(keys.orders, order_id))
            cid = None if order is None else order["customer"].get("customer_id")
            if cid:
                found = await self.customer(shop_id, cid)
                if found is not None:
                    return found
        normalised, _ = normalised_phone(phone)
        names = lookup_fields({"platform": platform, "user_id": user_id, "phone": normalised})
        if not names:
            return None
        owners = await self._records(keys.cidx, names)
        cid = next((as_text(owner) for owner in owners if owner is not None), None)
        return None if cid is None else await self.customer(shop_id, cid)

    async def customer_flags(
        self, shop_id: str, platform_users: Sequence[str], phones: Sequence[str]
    ) -> dict[str, Json]:
        """Flags of commenters, in one HMGET: fields `<platform>:<user_id>` (as given in
        `platform_users`) and `phone:<phone>`; only the fields of known customers appear."""
        names = list(dict.fromkeys([*platform_users, *(phone_field(p) for p in phones)]))
        if not names:
            return {}
        raws = await self._redis.hmget(flags_key(shop_id), names)
        return {n: orjson.loads(raw) for n, raw in zip(names, raws, strict=True) if raw is not None}
