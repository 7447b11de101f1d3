"""The prefecture package's errors: homes or settings that cannot be used, and a Spark that cannot start."""

from __future__ import annotations

from tsunagu.errors import InputError, UnavailableError


class PrefectureInputError(InputError, ValueError):
    """A home that is not a municipality's, two homes of one municipality, or a refused release."""

    code = "prefecture_input"


class SparkUnavailableError(UnavailableError, RuntimeError):
    """PySpark or Java is not installed, or the Spark master cannot be reached."""

    code = "spark_unavailable"
