"""What the documentation of the connectors promises, checked: the commented [connectors]
example of config/shops/demo.toml loads, and the Grafana dashboard in deploy/ charts only
metrics that the worker and the connectors export."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from prometheus_client import REGISTRY

import connectors.metrics
import stream.metrics
from config.loader import validate_document
from config.shop import ShopConfig

ROOT = Path(__file__).resolve().parents[3]


def test_the_commented_connectors_example_of_the_demo_shop_loads() -> None:
    text = (ROOT / "config" / "shops" / "demo.toml").read_text(encoding="utf-8")
    block = text[
        text.index("# [connectors.facebook]") : text.index("\n# Messages to the customer's inbox")
    ]
    toml = "\n".join(line[2:] for line in block.splitlines()
                     if line.startswith("# ") and not line[2:3].isupper())  # fmt: skip
    document = {"shop": {"id": "s", "name": "S"}, **tomllib.loads(toml)}
    config = validate_document(ShopConfig, document, "demo.toml").connectors
    assert config.facebook and config.youtube and config.tiktok and config.shopee
    assert [live.platform for live in config.live] == ["facebook"]


def test_the_dashboard_charts_exported_metrics_only() -> None:
    assert stream.metrics and connectors.metrics  # both registered
    exported: set[str] = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        for suffix in suffixes.get(family.type, [""]):
            exported.add(family.name + suffix)
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    charted = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"chotdon_[a-z_]+", target["expr"])
    }
    assert charted and charted <= exported, sorted(charted - exported)
    assert any(name.startswith("chotdon_connector_") for name in charted)
    assert any(name.startswith("chotdon_comments_") for name in charted)
