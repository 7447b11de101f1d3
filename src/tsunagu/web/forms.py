"""Forms that keep what was typed: a refused form comes back on its own page, filled in, with the
message beside the field it concerns.

One mechanism for every staff form. A page that holds forms registers, with ``@refills(paths…)``,
a function that renders it again for a refused POST to any of those paths; the app's error handler
(``web/errors.py``) calls it with a ``FormState`` (the values sent and the message, by field) when
the service refuses the input (``Invalid`` and the other 4xx errors that are not a policy refusal)
or the request's own validation fails. Templates read ``form`` through the macros of
``_forms.html``: ``form.value(action, name, default)``, ``form.error(action, name)`` and
``form.general(action)`` — keyed by the form's action, as a page may hold several forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response

CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class FormState:
    """What a refused form held: its action, the values sent (by field, several for a multi-select)
    and the messages (by field; ``""`` for the form as a whole)."""

    action: str = ""
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)

    def refused(self, action: str) -> bool:
        return bool(self.action) and action == self.action

    def value(self, action: str, name: str, default: object = "") -> str:
        """The value typed into ``name`` of the form at ``action``, or the page's own default."""
        if self.refused(action) and name in self.values:
            sent = self.values[name]
            return sent[0] if sent else ""
        return "" if default is None else str(default)

    def chosen(self, action: str, name: str, option: object, default: bool = False) -> bool:
        """Whether ``option`` of a select, radio or checkbox was chosen (the default when not refused)."""
        if self.refused(action):
            return str(option) in self.values.get(name, ())
        return default

    def error(self, action: str, name: str) -> str:
        return self.errors.get(name, "") if self.refused(action) else ""

    def general(self, action: str) -> str:
        """The message for the form as a whole (a refusal not tied to one field)."""
        return self.errors.get("", "") if self.refused(action) else ""


NO_FORM = FormState()

Page = Callable[[Request, FormState], Response]
_PAGES: dict[str, Page] = {}
_ON_REFUSAL: set[str] = set()


def refills(*paths: str, on_refusal: bool = False) -> Callable[[Page], Page]:
    """Register ``page`` as the page that shows the forms posting to ``paths`` (route path templates).
    ``on_refusal``: a policy refusal of the form comes back too (break-glass: a justification too short
    is the policy's refusal, already on record, and what was typed should not be lost)."""
    def register(page: Page) -> Page:
        for path in paths:
            if path in _PAGES and _PAGES[path] is not page:
                raise ValueError(f"{path} already has a page to refill")  # two pages for one form: a bug
            _PAGES[path] = page
            if on_refusal:
                _ON_REFUSAL.add(path)
        return page
    return register


def refill_page(request: Request, refused: bool = False) -> Page | None:
    """The page registered for the route that refused this request, when it is a form's POST."""
    if request.method != "POST":
        return None
    path = getattr(request.scope.get("route"), "path", "")
    if refused and path not in _ON_REFUSAL:
        return None
    return _PAGES.get(path)


def registered_paths() -> frozenset[str]:
    return frozenset(_PAGES)


async def remember_form(request: Request) -> None:
    """Keep the POSTed values where the error handler finds them (``request.state`` outlives the
    route's own Request object)."""
    form = await request.form()
    values: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if name != CSRF_FIELD and isinstance(value, str):
            values.setdefault(name, []).append(value)
    request.state.form_values = {name: tuple(v) for name, v in values.items()}


def state_for(request: Request, message: str, field_name: str | None = None,
              field_errors: Mapping[str, str] | None = None) -> FormState:
    """The refused form's state: the values this request sent and the message(s)."""
    values: Mapping[str, tuple[str, ...]] = getattr(request.state, "form_values", {}) or {}
    errors = dict(field_errors or {})
    if not errors:
        errors[field_name or ""] = message
    return FormState(action=request.url.path, values=values, errors=errors)
