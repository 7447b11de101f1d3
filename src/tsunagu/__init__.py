"""tsunagu (つなぐ): link what a municipality's departments hold about a child, without a central database.

The public surface is the ``tsunagu`` command (see :mod:`tsunagu.cli`); the packages below it follow
the data's one-way flow: ingest → vault → node → link / screen → work → web.
"""

__version__ = "0.1.0"
