"""Errors of push-type support, in the work services' families (codes in docs/errors.md).

Each keeps the built-in base it was raised as before (``LookupError``, ``ValueError``), so code that
caught those still does.
"""

from __future__ import annotations

from tsunagu.work.errors import Invalid, NotFound


class UnknownProgrammeError(Invalid, LookupError):
    """A programme the officer's department does not run (or no programme of that id)."""

    code = "unknown_programme"


class UnknownLanguageError(Invalid, ValueError):
    """A letter language other than the templates' (ja / easy_ja / en / zh / pt / vi)."""

    code = "unknown_language"


class NoOutreachRunError(NotFound, LookupError):
    """Letters or an evaluation asked for before any outreach run stored its results."""

    code = "no_outreach_run"
