"""Which data items a rule may reference, read from the catalogue.

Kept apart so the catalogue loader can replace this module's body without touching the rule
loader: everything else only calls ``known_item_ids`` and ``known_item_value_types``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from tsunagu.yamlstrict import ConfigError, line_of, read_yaml

CATALOGUE_ITEMS = Path(__file__).resolve().parent.parent / "catalog" / "data" / "items.yaml"


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, str]:
    data, node = read_yaml(CATALOGUE_ITEMS)
    items: Any = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(CATALOGUE_ITEMS, None, "expected a top-level 'items' list")
    out: dict[str, str] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ConfigError(CATALOGUE_ITEMS, line_of(node, ("items", i)), "item without an id")
        out[item["id"]] = str(item.get("value_type", "text"))
    return out


def known_item_ids() -> frozenset[str]:
    """Every data item id in the catalogue."""
    return frozenset(_catalogue())


def known_item_value_types() -> dict[str, str]:
    """Catalogue value type per item (int, float, code, text, bool, date)."""
    return dict(_catalogue())
