"""The statistics package's one error: counts or a setting that cannot be published as given."""

from __future__ import annotations

from tsunagu.errors import InputError


class StatisticsInputError(InputError, ValueError):
    """A negative count, a table whose rows and columns do not match its counts, or k too small to protect anyone."""

    code = "statistics_input"
