"""Vault tables: loads, records with provenance and history, observations, quarantine, node log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

VAULT_SCHEMA_VERSION = 1

metadata = MetaData()

vault_info = Table(
    "vault_info",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", Text, nullable=False),
)

loads = Table(
    "loads",
    metadata,
    Column("load_id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(60), nullable=False),
    Column("file_name", Text, nullable=False),
    # Files of one source that supersede each other (one school's roster, not another school's).
    Column("partition", Text, nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("export_date", Date, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("encoding", String(40), nullable=False),
    UniqueConstraint("source", "file_hash", name="uq_loads_source_hash"),
)

# Identity fields are kept twice: as written (for people to read) and as match keys (for linkage).
records = Table(
    "records",
    metadata,
    Column("record_id", Integer, primary_key=True, autoincrement=True),
    Column("load_id", Integer, ForeignKey("loads.load_id"), nullable=False),
    Column("source", String(60), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("local_id", Text, nullable=False),
    Column("subject", String(10), nullable=False),
    Column("aza_number", String(20)),
    Column("household_number", String(20)),
    Column("guardian_aza_number", String(20)),
    Column("school_code", String(20)),
    Column("full_name", Text),
    Column("family_name", Text),
    Column("given_name", Text),
    Column("family_key", Text),
    Column("given_key", Text),
    Column("reading", Text),
    Column("family_reading_key", Text),
    Column("given_reading_key", Text),
    Column("birth_date", Date),
    Column("sex", String(1)),
    Column("address", Text),
    Column("address_key", Text),
    Column("postal_code", String(8)),
    Column("locality", Text),
    Column("region", Text),
    Column("guardian_name", Text),
    Column("guardian_name_key", Text),
    Column("guardian_reading_key", Text),
    Column("previous_address_key", Text),
    Column("previous_name_key", Text),
    Column("raw", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Index("ix_records_source_local", "source", "local_id"),
    Index("ix_records_aza", "aza_number"),
    Index("ix_records_valid", "source", "valid_to"),
    # A new snapshot closes the rows of the one before it by load (``LoadWriter.finish``): without this
    # index, every changed file of a daily run scanned the whole table.
    Index("ix_records_load", "load_id"),
)
# The identity fields a node may give out: every column of ``records`` but its bookkeeping.
RECORD_BOOKKEEPING = ("record_id", "load_id", "source", "row_number", "local_id", "subject", "raw", "valid_from",
                      "valid_to")
IDENTITY_FIELDS = tuple(column.name for column in records.columns if column.name not in RECORD_BOOKKEEPING)

observations = Table(
    "observations",
    metadata,
    Column("obs_id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", Integer, ForeignKey("records.record_id"), nullable=False),
    Column("load_id", Integer, ForeignKey("loads.load_id"), nullable=False),
    Column("source", String(60), nullable=False),
    Column("local_id", Text, nullable=False),
    Column("item_id", String(60), nullable=False),
    Column("value_text", Text),
    Column("value_num", Float),
    Column("value_bool", Boolean),
    Column("observed_on", Date, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Index("ix_observations_item", "item_id", "valid_to"),
    Index("ix_observations_local", "source", "local_id"),
    Index("ix_observations_load", "load_id"),  # as ix_records_load
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("load_id", Integer, ForeignKey("loads.load_id"), nullable=False),
    Column("source", String(60), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("column_name", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("byte_offset", Integer),
    Column("raw", Text, nullable=False),
    Column("status", String(10), nullable=False, default="open"),
    # The row's record key where its own column could be read (ingest.convert.readable_local_id):
    # stored as records.local_id is, so the node can tell whose data did not load; NULL names nobody.
    Column("local_id", Text),
)

# The node's own log: both ends of every exchange keep evidence (the hub logs its side).
request_log = Table(
    "request_log",
    metadata,
    Column("log_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(40), nullable=False),
    Column("requester", Text, nullable=False),
    Column("role", String(40), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("items", Text, nullable=False),
    Column("subjects", Integer, nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("reason", Text, nullable=False),
    Column("answer_digest", String(64), nullable=False),
    # The nonce of the signed message that carried the request (None in process): a restarted
    # HTTP node reads back recent ones so a replay stays refused. Only verified nonces are written.
    Column("nonce", String(64)),
)
