"""What each staff role may do in the dashboard and the API (`[permissions]`).

Managers and owners may do everything in their shop. Sales staff always finish drafts (their
whole job during a live) and sell in chats; the rest is the shop's choice, below, with
defaults that keep money and customer records with the managers.
"""

from __future__ import annotations

from config.base import Strict


class SalesPermissions(Strict):
    change_status: bool = True  # move orders through the shop's statuses (single and bulk)
    merge: bool = True  # merge one customer's orders (gộp đơn)
    blacklist: bool = False  # flag a customer as bom hàng, or clear the flag
    stats: bool = False  # see revenue and the stats page
    livestreams: bool = False  # start and stop livestreams


class Permissions(Strict):
    sales: SalesPermissions = SalesPermissions()
