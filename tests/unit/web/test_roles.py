"""Who may do what: owners and managers everything, sales what the shop allows."""

from __future__ import annotations

import pytest

from config.permissions import Permissions, SalesPermissions
from web.roles import Action, allowed_actions, may

DEFAULTS = Permissions()
GENEROUS = Permissions(sales=SalesPermissions(blacklist=True, stats=True, livestreams=True))


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_may_do_everything(role: str) -> None:
    assert all(may(role, action, DEFAULTS) for action in Action)


def test_sales_finish_drafts_always_and_the_rest_as_the_shop_says() -> None:
    assert may("sales", Action.EDIT_DRAFTS, DEFAULTS) and may("sales", Action.READ, DEFAULTS)
    assert may("sales", Action.CHANGE_STATUS, DEFAULTS)  # the default: yes
    for action in (Action.BLACKLIST, Action.STATS, Action.LIVESTREAMS):
        assert not may("sales", action, DEFAULTS)
        assert may("sales", action, GENEROUS)
    strict = Permissions(sales=SalesPermissions(change_status=False, merge=False))
    assert not may("sales", Action.CHANGE_STATUS, strict)
    assert not may("sales", Action.MERGE, strict)


def test_an_unknown_role_may_do_nothing() -> None:
    assert allowed_actions("intern", GENEROUS) == []
    assert "stats" not in allowed_actions("sales", DEFAULTS)
