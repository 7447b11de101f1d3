"""/api/resources: the support directory for staff (read), and adding to it (allowed roles)."""

from __future__ import annotations

from fastapi import APIRouter

from tsunagu.web.deps import CsrfHeader, CurrentSubject, State
from tsunagu.web.errors import API_ERRORS
from tsunagu.web.routes.resources import edit_purpose
from tsunagu.work import resources as directory
from tsunagu.work.resources import ResourceEntry, ResourceView

router = APIRouter(prefix="/api", tags=["社会資源"], responses=API_ERRORS)


@router.get("/resources", response_model=list[ResourceView], summary="社会資源の一覧")
def api_resources(state: State, subject: CurrentSubject) -> list[ResourceView]:
    may_edit = directory.may_manage(state.hub.policy, subject, edit_purpose(state, subject))  # editors also see retired entries
    with state.read_factory() as session:
        return directory.list_resources(session, include_inactive=may_edit)


@router.post("/resources", response_model=ResourceView, status_code=201, dependencies=[CsrfHeader],
             summary="社会資源を登録する")
def api_resource_add(state: State, subject: CurrentSubject, body: ResourceEntry) -> ResourceView:
    with state.unit() as session:
        return directory.add_resource(session, subject, edit_purpose(state, subject), body, key=state.key)
