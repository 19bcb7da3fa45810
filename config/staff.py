"""The people of a shop (`[[staff]]`): who may act, and the groups a rule assigns in turn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from config.base import ConfigProblems, Strict, Word, repeated


class Staff(Strict):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    name: Word
    # Teams this person belongs to; a rule may assign round-robin in one (`{ group = "sales" }`).
    groups: tuple[Word, ...] = ()


def unique_staff(staff: tuple[Staff, ...]) -> tuple[Staff, ...]:
    """Staff ids are unique, ignoring case."""
    problems = repeated([person.id for person in staff], "staff id", "staff", "id")
    if problems:
        raise ConfigProblems(problems)
    return staff


def group_members(staff: Sequence[Staff], group: str) -> tuple[str, ...]:
    """The staff ids of a group, in the shop's order (the round-robin's order)."""
    return tuple(person.id for person in staff if group in person.groups)
