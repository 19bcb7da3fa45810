"""The shop's order statuses and the moves between them (`[workflow]`), checked as a whole."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from config.base import ConfigProblems, Location, Strict, Word

_KEY_RE = r"^[a-z][a-z0-9_]*$"

StatusKey = Annotated[str, Field(min_length=1, max_length=32, pattern=_KEY_RE)]

FinaliseAction = Literal["create", "deliver_now", "send_to_store"]


class Status(Strict):
    """One order status of the shop's workflow (seed 003: a name, a colour, revenue or not)."""

    key: StatusKey  # stable: orders store the key, so a shop can rename a status freely
    name: Word
    color: Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")] = "#9e9e9e"
    revenue: bool = False  # counts towards revenue in `chotdon stats`
    returned: bool = False  # an order here counts as returned for its customer (bom hàng)
    to: tuple[StatusKey, ...] = ()  # the statuses an order may move to from this one


DEFAULT_STATUSES = (
    Status(key="new", name="Vừa tạo", color="#1e88e5", revenue=True, to=("confirmed", "cancelled")),
    Status(key="confirmed", name="Đã chốt", color="#8e24aa", revenue=True,
           to=("shipped", "cancelled")),
    Status(key="shipped", name="Đã giao", color="#43a047", revenue=True, to=("returned",)),
    Status(key="returned", name="Bị trả lại", color="#e53935", returned=True),
    Status(key="cancelled", name="Đã hủy", color="#757575"),
)  # fmt: skip


DEFAULT_ACTIONS: dict[FinaliseAction, str] = {
    "create": "new", "deliver_now": "shipped", "send_to_store": "new",
}  # fmt: skip


class Workflow(Strict):
    """Order statuses and their moves, checked as a whole when the shop's file is loaded.

    `actions` always holds all three finalise actions: a shop's `[workflow.actions]` replaces
    the defaults it names and keeps the others, which must then name statuses of its workflow.
    """

    statuses: tuple[Status, ...] = DEFAULT_STATUSES
    # the status an order gets when staff finalise a draft with each action (seed 001)
    actions: dict[FinaliseAction, StatusKey] = Field(default_factory=lambda: dict(DEFAULT_ACTIONS))

    @field_validator("actions", mode="before")
    @classmethod
    def _keep_default_actions(cls, value: object) -> object:
        if isinstance(value, dict):
            return {**DEFAULT_ACTIONS, **value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Workflow:
        problems = workflow_problems(self)
        if problems:
            raise ConfigProblems(problems)
        return self

    def status(self, key: str) -> Status | None:
        """The status with this key, or None (an order may keep a key the shop removed)."""
        for status in self.statuses:
            if status.key == key:
                return status
        return None


def workflow_problems(workflow: Workflow) -> list[tuple[Location, str]]:
    """Every structural fault of a workflow, each with its place inside the workflow.

    Unique keys; every `to` and every action names a status; every status can be reached from
    the status of some finalise action. Reachability is judged only once the actions are
    right: a renamed status that the actions still miss would otherwise be reported twice.
    """
    if not workflow.statuses:
        return [(("statuses",), "a workflow needs at least one status")]
    problems: list[tuple[Location, str]] = []
    first: dict[str, int] = {}
    for index, status in enumerate(workflow.statuses):
        if status.key in first:
            where = f"statuses[{first[status.key]}]"
            problems.append(
                (("statuses", index, "key"), f"status {status.key!r} is already defined at {where}")
            )
        else:
            first[status.key] = index
    for index, status in enumerate(workflow.statuses):
        for target in status.to:
            if target not in first:
                why = f"status {status.key!r} moves to {target!r}, which is not a status"
                problems.append((("statuses", index, "to"), why))
    bad_actions = [(action, key) for action, key in workflow.actions.items() if key not in first]
    for action, key in bad_actions:
        why = (f"finalise action {action!r} gives status {key!r}, which is not a status "
               f"(set workflow.actions.{action})")  # fmt: skip
        problems.append((("actions", action), why))
    if not bad_actions:
        moves = {status.key: status.to for status in workflow.statuses}
        reached: set[str] = set()
        queue = list(workflow.actions.values())
        while queue:
            key = queue.pop()
            if key not in reached and key in moves:
                reached.add(key)
                queue.extend(moves[key])
        for index, status in enumerate(workflow.statuses):
            if status.key not in reached and first[status.key] == index:
                why = (f"status {status.key!r} cannot be reached: no finalise action gives it "
                       f"and no reachable status moves to it")  # fmt: skip
                problems.append((("statuses", index), why))
    return problems
