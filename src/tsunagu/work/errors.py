"""Errors of the work services, each with a Japanese message a screen can show as it is."""

from __future__ import annotations

from tsunagu.errors import ExitCode, RefusedError, TsunaguError
from tsunagu.privacy import Decision


class WorkError(TsunaguError):
    """Base: ``code`` is stable for the API's error shape, ``message`` is Japanese."""

    code = "error"
    status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Refused(WorkError, RefusedError):
    """The policy refused. The refusal is already in the audit chain: the caller must commit."""

    code = "forbidden"
    status = 403

    def __init__(self, message: str, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


class Suspended(Refused):
    """The family asked for suspension of use: the child is out of every list and page."""

    code = "suspended"


class NotFound(WorkError):

    exit_code = ExitCode.NOT_FOUND
    code = "not_found"
    status = 404


class Invalid(WorkError):
    """Input the service cannot take; ``field`` names the form field it concerns (a page shows the
    message beside it), ``None`` for the input as a whole."""

    exit_code = ExitCode.INPUT
    code = "invalid"
    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
