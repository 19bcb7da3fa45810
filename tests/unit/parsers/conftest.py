"""Fixtures for the parser tests: the sample shop's grammar, compiled once per session."""

from __future__ import annotations

from typing import Any

import pytest
from parse_expect import demo_shop

from config.shop import ShopConfig


@pytest.fixture(scope="session")
def demo() -> ShopConfig:
    return demo_shop()


@pytest.fixture(scope="session")
def grammar(demo: ShopConfig) -> Any:
    from parsers import compile_grammar

    return compile_grammar(demo)
