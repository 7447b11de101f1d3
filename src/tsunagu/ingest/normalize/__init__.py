"""Normalisation shared by ingest and linkage: match keys and validators."""

from tsunagu.ingest.normalize.addresses import (
    AddressKey,
    address_key,
    address_match_key,
    kanji_to_int,
)
from tsunagu.ingest.normalize.contact import phone_number, postal_code
from tsunagu.ingest.normalize.names import (
    VariantRow,
    fold_variant_kanji,
    name_key,
    split_name,
    variant_table,
)
from tsunagu.ingest.normalize.readings import is_katakana, reading_display, reading_key

__all__ = [
    "AddressKey",
    "VariantRow",
    "address_key",
    "address_match_key",
    "fold_variant_kanji",
    "is_katakana",
    "kanji_to_int",
    "name_key",
    "phone_number",
    "postal_code",
    "reading_display",
    "reading_key",
    "split_name",
    "variant_table",
]
