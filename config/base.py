"""What every part of the shop configuration shares: strict frozen models, NFC text, and
problems reported at their place inside the file (`workflow.statuses[2].to: …`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Location = tuple[int | str, ...]


def nfc(value: object) -> object:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


Word = Annotated[str, BeforeValidator(nfc), Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigProblems(ValueError):
    """Several faults one validator found, each at its own place inside the value it checked.

    pydantic reports a validator's error at the validated value; `config.loader` appends each
    problem's location to that, so a person reads `workflow.statuses[2].to: ...` rather than one
    long message at `workflow`. Raised outside the loader it reads as the same list, one a line.
    """

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{_location(at)}: {why}" if at else why
                                    for at, why in problems))  # fmt: skip


def _location(at: Location) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in at).lstrip(".")


def repeated(names: Sequence[str], what: str, where: str, field: str) -> list[tuple[Location, str]]:
    """Names used twice, ignoring case (`Lan` and `lan` in one shop is a mistake): the
    location of each repeat, and where its first use is."""
    first: dict[str, int] = {}
    problems: list[tuple[Location, str]] = []
    for index, name in enumerate(names):
        folded = name.casefold()
        if folded in first:
            why = f"{what} {name!r} is already used at {where}[{first[folded]}]"
            problems.append(((index, field), why))
        else:
            first[folded] = index
    return problems
