"""Reading shop configuration files: a broken file is refused with file, field and reason."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from config.base import ConfigProblems
from config.shop import ProductGroup, ShopConfig

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(Exception):
    """A configuration that cannot be used. `problems` holds one (field path, reason) per fault."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {field}: {reason}" if field else f"{source}: {reason}"
                 for field, reason in problems]  # fmt: skip
        super().__init__("\n".join(lines))


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if part == "[key]":  # a dict key at fault: the path names it already
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _friendly(error_type: str, message: str) -> str:
    if error_type == "extra_forbidden":
        return "unknown setting (check its spelling against COMMENT_SYNTAX.md)"
    if error_type == "missing":
        return "required setting is missing"
    return message.removeprefix("Value error, ")


def validate_document(model: type[Model], document: object, source: str) -> Model:
    """Validate parsed TOML (or JSON) data, turning pydantic's errors into a ConfigError."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        for error in exc.errors(include_url=False):
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, ConfigProblems):  # several faults, each at its own place
                problems += [(_field_path((*error["loc"], *at)), why) for at, why in cause.problems]
            else:
                problems.append((_field_path(error["loc"]), _friendly(error["type"], error["msg"])))
        raise ConfigError(source, problems) from None


def read_toml(path: Path | str) -> dict[str, object]:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(path), [("", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError(str(path), [("", "is a directory, expected a .toml file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [("", f"not UTF-8 text: {exc.reason}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [("", f"not valid TOML: {exc}")]) from None


def load_shop(path: Path | str) -> ShopConfig:
    return validate_document(ShopConfig, read_toml(path), str(path))


def load_product_group(path: Path | str) -> ProductGroup:
    return validate_document(ProductGroup, read_toml(path), str(path))
