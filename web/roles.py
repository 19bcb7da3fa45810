"""Who may do what in the dashboard and the API: the roles of staff accounts, pure.

Every account belongs to one shop and has one role. Owners and managers may do everything in
their shop; sales staff always read the board and finish drafts, sell in chats and read orders
and customers, and the shop's `[permissions.sales]` decides the rest (config/permissions.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

from config.permissions import Permissions

Role = Literal["sales", "manager", "owner"]
ROLES: tuple[Role, ...] = get_args(Role)


class Action(StrEnum):
    READ = "read"  # livestreams, drafts, orders, customers, chats, messages
    EDIT_DRAFTS = "edit_drafts"  # every draft command, finalising included; chat orders
    CHANGE_STATUS = "change_status"
    MERGE = "merge"
    ASSIGN_ORDERS = "assign_orders"  # assign and tag finished orders
    BLACKLIST = "blacklist"
    STATS = "stats"
    LIVESTREAMS = "livestreams"  # start, change products, stop


ALWAYS_FOR_SALES = frozenset({Action.READ, Action.EDIT_DRAFTS, Action.ASSIGN_ORDERS})


def may(role: str, action: Action, permissions: Permissions) -> bool:
    if role in ("owner", "manager"):
        return True
    if role != "sales":
        return False
    if action in ALWAYS_FOR_SALES:
        return True
    granted: bool = getattr(permissions.sales, action.value, False)
    return granted


def allowed_actions(role: str, permissions: Permissions) -> list[str]:
    """What the role may do, for the page to show only the buttons that will work."""
    return [action.value for action in Action if may(role, action, permissions)]
