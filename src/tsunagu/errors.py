"""One base for every error tsunagu reports to a person.

A ``TsunaguError`` carries a stable ``code`` (for scripts and the API's error shape), the HTTP
``status`` the staff app answers with, the command line's ``exit_code`` (one table, ``ExitCode``)
and its message in Japanese and English. Messages are written ``日本語 / English`` in one string,
as they always were; ``message_ja`` and ``message_en`` split them (an error without an English
part gives the Japanese one for both). The codes are listed in docs/errors.md.

The classes keep their built-in bases (``ValueError``, ``PermissionError`` …) as well, so code
that caught those before still does.
"""

from __future__ import annotations

from enum import IntEnum

_SEPARATOR = " / "
# An English part may quote a file name or a value in Japanese; a Japanese part may list options
# separated by " / ". The English part is the one after the last separator whose text is mostly ASCII.
_MAX_NON_ASCII_SHARE = 0.1


class ExitCode(IntEnum):
    """The command line's exit codes (documented in docs/errors.md; 2 is click's usage error)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    INPUT = 4
    REFUSED = 5
    NOT_FOUND = 6
    UNAVAILABLE = 7
    INTEGRITY = 8
    LIMIT = 9


def split_languages(text: str) -> tuple[str, str]:
    """``("日本語", "English")`` from ``"日本語 / English"``; the whole text twice if it has no English part."""
    start = len(text)
    while (at := text.rfind(_SEPARATOR, 0, start)) > 0:
        left, right = text[:at], text[at + len(_SEPARATOR):]
        share = sum(not c.isascii() for c in right) / max(len(right), 1)
        if right[:1].isascii() and right[:1].isalnum() and share <= _MAX_NON_ASCII_SHARE and not left.isascii():
            return left, right
        start = at
    return text, text


class TsunaguError(Exception):
    """Base of tsunagu's errors: ``code`` is stable, ``status`` is the HTTP status, ``exit_code`` the CLI's."""

    code: str = "error"
    status: int = 500
    exit_code: int = ExitCode.FAILURE

    @property
    def message_ja(self) -> str:
        return split_languages(str(self))[0]

    @property
    def message_en(self) -> str:
        return split_languages(str(self))[1]


class ConfigurationError(TsunaguError):
    """A configuration file, a home, a key or a rule set is wrong or missing: the operator must fix it."""

    code = "config"
    exit_code = ExitCode.CONFIG


class InputError(TsunaguError):
    """Input that cannot be used as given (a file, a value, an expression); nothing was changed."""

    code = "invalid_input"
    status = 422
    exit_code = ExitCode.INPUT


class RefusedError(TsunaguError, PermissionError):
    """A policy said no (the access policy, a node's policy, break-glass). The refusal is recorded."""

    code = "forbidden"
    status = 403
    exit_code = ExitCode.REFUSED


class UnavailableError(TsunaguError):
    """Something needed is not there or cannot be reached (a node, a driver, a font)."""

    code = "unavailable"
    status = 503
    exit_code = ExitCode.UNAVAILABLE


class IntegrityError(TsunaguError):
    """The store is not as it must be (a broken audit chain, a write through a reading session)."""

    code = "integrity"
    exit_code = ExitCode.INTEGRITY


class KeyFileError(ConfigurationError, ValueError):
    """A key file is missing, unreadable, not a key of the right kind, or readable by others."""

    code = "key_file"
