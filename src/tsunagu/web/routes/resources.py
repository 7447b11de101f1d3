"""社会資源 directory for staff: read by everyone signed in, edited by the roles allowed to."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, render
from tsunagu.web.forms import FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work import resources as directory
from tsunagu.work.resources import ResourceEntry

router = APIRouter(include_in_schema=False)


def edit_purpose(state: AppState, subject: CurrentSubject) -> str:
    """Casework roles edit for support coordination; administrators for administration."""
    return "support_coordination" if directory.may_manage(state.hub.policy, subject) else "administration"


@router.get("/resources")
def resources_page(request: Request, state: State, subject: CurrentSubject, category: str = "",
                   saved: str = "") -> Response:
    purpose = edit_purpose(state, subject)
    may_edit = directory.may_manage(state.hub.policy, subject, purpose)  # a policy check: decides whether to offer the form
    with state.read_factory() as session:
        rows = directory.list_resources(session, include_inactive=may_edit, category=category or None)
    return render(request, state, "resources.html", resources=rows, may_edit=may_edit, categories=directory.CATEGORIES,
                  category=category, saved=saved)


def _entry(name: str, category: str, eligibility: str, contact: str, area: str, public: str, active: str
           ) -> ResourceEntry:
    return ResourceEntry(name=name.strip(), category=category.strip(), eligibility=eligibility.strip(),
                         contact=contact.strip(), area=area.strip(), public=public == "on", active=active == "on")


def _draft(form: FormState, resource_id: int | None = None) -> SimpleNamespace:
    """What was typed, to show again in the form that refused it (``web/forms.py``)."""
    def value(name: str) -> str:
        return form.value(form.action, name)
    return SimpleNamespace(id=resource_id, name=value("name"), category=value("category"),
                           eligibility=value("eligibility"), contact=value("contact"), area=value("area"),
                           public=form.chosen(form.action, "public", "on"), active=form.chosen(form.action, "active", "on"))


@refills("/resources")
def _add_again(request: Request, form: FormState) -> Response:
    state: AppState = request.app.state.tsunagu
    subject = request.state.account.subject
    with state.read_factory() as session:
        rows = directory.list_resources(session, include_inactive=True)
    return render(request, state, "resources.html", resources=rows, may_edit=directory.may_manage(state.hub.policy, subject, edit_purpose(state, subject)),
                  categories=directory.CATEGORIES, category="", saved="", draft=_draft(form), form=form,
                  error=next(iter(form.errors.values()), ""))


@refills("/resources/{resource_id}")
def _edit_again(request: Request, form: FormState) -> Response:
    state: AppState = request.app.state.tsunagu
    return render(request, state, "resource_edit.html", categories=directory.CATEGORIES, form=form,
                  resource=_draft(form, int(request.path_params["resource_id"])),
                  error=next(iter(form.errors.values()), ""))


@router.post("/resources", dependencies=[CsrfForm])
def resource_add(
    state: State, subject: CurrentSubject, name: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "", eligibility: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "", area: Annotated[str, Form()] = "", public: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "on",
) -> Response:
    entry = _entry(name, category, eligibility, contact, area, public, active)
    with state.unit() as session:
        directory.add_resource(session, subject, edit_purpose(state, subject), entry, key=state.key)
    return RedirectResponse("/resources?saved=1", status_code=303)




@router.get("/resources/{resource_id}/edit")
def resource_edit_page(request: Request, state: State, subject: CurrentSubject, resource_id: RowId) -> Response:
    purpose = edit_purpose(state, subject)
    with state.unit() as session:
        # Decided and recorded like the save: opening the edit form is the start of an edit.
        directory.check_manage(session, subject, purpose, key=state.key)
        resource = directory.get_resource(session, resource_id)
    return render(request, state, "resource_edit.html", resource=resource, categories=directory.CATEGORIES)


@router.post("/resources/{resource_id}", dependencies=[CsrfForm])
def resource_update(
    state: State, subject: CurrentSubject, resource_id: RowId, name: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "", eligibility: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "", area: Annotated[str, Form()] = "", public: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    entry = _entry(name, category, eligibility, contact, area, public, active)
    with state.unit() as session:
        directory.update_resource(session, subject, edit_purpose(state, subject), resource_id, entry, key=state.key)
    return RedirectResponse("/resources?saved=1", status_code=303)
