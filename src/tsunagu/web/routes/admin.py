"""管理: accounts and roles, case assignments, data sources' freshness, the rule set in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, State, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work import users as accounts
from tsunagu.work.assignments import assign
from tsunagu.work.sources import rules_in_force, source_status

router = APIRouter(include_in_schema=False)
ADMIN = "administration"


@router.get("/admin")
def admin_page(request: Request, state: State, subject: CurrentSubject, saved: str = "") -> Response:
    return _admin_page(request, state, subject, saved, NO_FORM)


@refills("/admin/users", "/admin/assignments")
def _admin_again(request: Request, form: FormState) -> Response:
    return _admin_page(request, request.app.state.tsunagu, request.state.account.subject, "", form)


def _admin_page(request: Request, state: AppState, subject: Subject, saved: str, form: FormState) -> Response:
    may_users = state.hub.policy.allows(subject, "users.manage", ADMIN)
    may_approve = state.hub.policy.allows(subject, "users.approve", ADMIN)
    may_sources = state.hub.policy.allows(subject, "sources.load", ADMIN) or state.hub.policy.allows(subject, "rules.manage", ADMIN)
    with state.unit() as session:
        # Each section is decided and recorded on its own; a role with none of them is refused
        # (and recorded) through the accounts section. The privacy officer sees the accounts waiting
        # for a second person's approval (separation of duties).
        if may_approve and not may_users:
            users: list[accounts.Account] | None = accounts.pending_users(session, subject, key=state.key)
        else:
            users = accounts.list_users(session, subject, key=state.key) if may_users or not may_sources else None
        sources = source_status(session, subject, state.nodes(), state.manifests(), key=state.key) \
            if may_sources else None
        rules = rules_in_force(session, subject, state.settings, key=state.key) if may_sources else None
    roles = {name: role.label for name, role in state.hub.policy.roles.items()}
    return render(request, state, "admin.html", users=users, sources=sources, rules=rules, roles=roles, saved=saved,
                  generated=None, may_approve=may_approve, may_manage=may_users, current_user_id=subject.user_id,
                  form=form)


@router.post("/admin/users", dependencies=[CsrfForm])
def admin_add_user(
    request: Request, state: State, subject: CurrentSubject, user_id: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "", organisation: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    generated = None if password else accounts.generate_password()
    with state.unit() as session:
        account = accounts.create_user(session, subject, user_id.strip(), role=role, display_name=display_name,
                                       organisation=organisation, password=password or str(generated), key=state.key)
    if generated is None:
        return RedirectResponse(f"/admin?saved={'pending' if account.pending else 'user'}", status_code=303)
    # Shown once, on this response only: the password is never stored in plain text.
    return render(request, state, "admin_password.html", account=account, generated=generated)


@router.post("/admin/users/{user_id}/disable", dependencies=[CsrfForm])
def admin_disable_user(state: State, subject: CurrentSubject, user_id: str) -> Response:
    with state.unit() as session:
        accounts.disable_user(session, subject, user_id, key=state.key)
    return RedirectResponse("/admin?saved=disabled", status_code=303)


@router.post("/admin/users/{user_id}/approve", dependencies=[CsrfForm])
def admin_approve_user(state: State, subject: CurrentSubject, user_id: str) -> Response:
    with state.unit() as session:
        accounts.approve_user(session, subject, user_id, key=state.key)
    return RedirectResponse("/admin?saved=approved", status_code=303)


@router.post("/admin/assignments", dependencies=[CsrfForm])
def admin_assign(state: State, subject: CurrentSubject, user_id: Annotated[str, Form()] = "",
                 person_id: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        assign(session, subject, user_id.strip(), person_id.strip(), key=state.key)
    return RedirectResponse("/admin?saved=assignment", status_code=303)
