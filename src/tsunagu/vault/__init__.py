"""Department vaults and their nodes.

A vault is one department's own store of its ingested exports (a SQLite file per department in the
home by default; a PostgreSQL schema per department when the hub is on PostgreSQL). Only the
department's node reads it: linkage, screening and staff views ask the node.
"""
