"""Which data items a rule may reference: the catalogue's items and their value types.

Read through the catalogue (``tsunagu.catalog``), which loads ``items.yaml`` strictly, so a rule
is checked against the same validated items as every manifest and the access policy.
"""

from __future__ import annotations

from tsunagu.catalog import Catalog, default_catalog


def known_item_ids(catalog: Catalog | None = None) -> frozenset[str]:
    """Every data item id in the catalogue."""
    return frozenset((catalog or default_catalog()).items)


def known_item_value_types(catalog: Catalog | None = None) -> dict[str, str]:
    """Catalogue value type per item (int, float, code, text, bool, date)."""
    return {item.id: item.value_type for item in (catalog or default_catalog()).items.values()}
