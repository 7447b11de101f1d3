"""個人情報保護 → 請求: the family's requests for the privacy officer, and the correction notices
for the holding departments' data stewards. Parse, call ``work.rights`` (which authorises), render.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, _row_id, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid
from tsunagu.work.rights import corrections, requests
from tsunagu.work.rights.deadlines import KINDS, default_periods
from tsunagu.work.rights.deletion import DeletionScope
from tsunagu.work.rights.disclosure import build_pack, pack_json
from tsunagu.work.rights.pdf import FontMissingError, register_font, render_pdf

router = APIRouter(include_in_schema=False)
SENSITIVE = 3  # the catalogue's most sensitive items (abuse, child guidance): not named on this page
ACTIONS = ("start", "extend", "complete", "refuse", "lift")
SAVED = {
    "created": "請求を受け付けました。期限は受付日と種類から計算しました。", "start": "対応中にしました。",
    "extend": "期限を延長しました。請求者に延長と理由を通知してください。", "complete": "請求を完了しました。",
    "refuse": "請求に応じない決定を記録しました。請求者に理由を通知してください。",
    "lift": "利用停止を解除しました。", "answered": "訂正の連絡に回答しました。",
}


def _date(text: str, label: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{label}は YYYY-MM-DD で入力してください。", field=field) from exc


@router.get("/privacy/requests")
def requests_page(request: Request, state: State, subject: CurrentSubject, open: str = "", saved: str = "") -> Response:
    return _requests_page(request, state, subject, bool(open), SAVED.get(saved, ""), NO_FORM)


@refills("/privacy/requests")
def _requests_again(request: Request, form: FormState) -> Response:
    return _requests_page(request, request.app.state.tsunagu, request.state.account.subject, False, "", form)


def _requests_page(request: Request, state: AppState, subject: Subject, open_only: bool, message: str,
                   form: FormState) -> Response:
    with state.unit() as session:
        views = requests.list_requests(session, subject, open_only=open_only, key=state.key)
    return render(request, state, "requests.html", views=views, open_only=open_only, message=message, form=form,
                  kinds={k: default_periods().of(k).label for k in KINDS}, requester_kinds=requests.REQUESTER_KINDS,
                  today=requests.jst_today(), sources=_sources(state), fields=_fields(state))


def _sources(state: AppState) -> list[tuple[str, str]]:
    """(source id, 部署名（記録の名前）) for the correction form: staff choose, they do not type ids.
    Sources that hold only the most sensitive items (a 児童相談所 case file) are not offered: even
    their names are not for the privacy officer's screen."""
    catalog = state.hub.catalog
    departments = catalog.departments
    out = []
    for source, manifest in sorted(state.manifests().manifests.items()):
        if manifest.item_ids and all(catalog.items[i].sensitivity >= SENSITIVE for i in manifest.item_ids
                                     if i in catalog.items):
            continue
        department = departments[manifest.department].name if manifest.department in departments else ""
        out.append((source, f"{department}（{manifest.label}）" if department else manifest.label))
    return out


def _fields(state: AppState) -> dict[str, list[tuple[str, str]]]:
    """The items a correction can name: identity fields, then each department's data items."""
    catalog = state.hub.catalog
    grouped: dict[str, list[tuple[str, str]]] = {"本人確認の項目": sorted(
        ((k, v) for k, v in corrections.IDENTITY_LABELS.items() if k != "local_id"), key=lambda kv: kv[1])}
    for department_id, department in catalog.departments.items():
        items = sorted(((i.id, i.label) for i in catalog.items_of(department_id) if i.sensitivity < SENSITIVE),
                       key=lambda kv: kv[1])
        if items:
            grouped[department.name] = items
    return grouped


@router.post("/privacy/requests", dependencies=[CsrfForm])
def request_add(
    state: State, subject: CurrentSubject, person_id: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
    requester_kind: Annotated[str, Form()] = "person", requester_note: Annotated[str, Form()] = "",
    received_on: Annotated[str, Form()] = "", source: Annotated[str, Form()] = "",
    local_id: Annotated[str, Form()] = "", field: Annotated[str, Form()] = "",
    claimed_value: Annotated[str, Form()] = "", work_records: Annotated[str, Form()] = "",
    work_reason: Annotated[str, Form()] = "",
) -> Response:
    claims = [corrections.CorrectionClaim(source.strip(), local_id.strip(), field.strip(), claimed_value)] \
        if kind == "correction" else []
    with state.unit() as session:
        view = requests.create_request(
            session, subject, person_id, kind, requester_kind=requester_kind, requester_note=requester_note,
            received_on=_date(received_on, "受付日", "received_on") or requests.jst_today(), claims=claims,
            deletion=DeletionScope(bool(work_records), work_reason), manifests=state.manifests(), key=state.key,
        )
    return RedirectResponse(f"/privacy/requests/{view.id}?saved=created", status_code=303)


@router.get("/privacy/requests/{request_no}")
def request_page(request: Request, state: State, subject: CurrentSubject, request_no: RowId, saved: str = "") -> Response:
    return _request_page(request, state, subject, request_no, SAVED.get(saved, ""), NO_FORM)


@refills("/privacy/requests/{request_no}")
def _request_again(request: Request, form: FormState) -> Response:
    return _request_page(request, request.app.state.tsunagu, request.state.account.subject,
                         _row_id(int(request.path_params["request_no"])), "", form)


def _request_page(request: Request, state: AppState, subject: Subject, request_no: int, message: str,
                  form: FormState) -> Response:
    with state.unit() as session:
        view = requests.get_request(session, subject, request_no, manifests=state.manifests(), key=state.key)
    return render(request, state, "request.html", view=view, message=message, form=form)


@router.post("/privacy/requests/{request_no}", dependencies=[CsrfForm])
def request_act(
    state: State, subject: CurrentSubject, request_no: RowId, action: Annotated[str, Form()] = "start",
    note: Annotated[str, Form()] = "", handler: Annotated[str, Form()] = "",
) -> Response:
    """One form per request; the pressed button names the step (start, extend, complete, refuse, lift)."""
    with state.unit() as session:
        if action == "extend":
            requests.extend(session, subject, request_no, note, key=state.key)
        elif action == "complete":
            requests.complete(session, subject, request_no, note, key=state.key)
        elif action == "refuse":
            requests.refuse(session, subject, request_no, note, key=state.key)
        elif action == "lift":
            requests.lift_suspension(session, subject, request_no, note, key=state.key)
        else:
            requests.start(session, subject, request_no, handler=handler or None, note=note, key=state.key)
    done = action if action in ACTIONS else "start"
    return RedirectResponse(f"/privacy/requests/{request_no}?saved={done}", status_code=303)


@router.get("/privacy/requests/{request_no}/disclosure")
def request_disclosure(state: State, subject: CurrentSubject, request_no: RowId, format: str = "pdf") -> Response:
    """The disclosure pack, built afresh from the departments' nodes (every read recorded)."""
    as_pdf = format != "json"
    if as_pdf:
        try:
            register_font()  # before any read: a pack that cannot be rendered should not be recorded as issued
        except FontMissingError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from exc
    with state.unit() as session:
        data = build_pack(session, subject, request_no, nodes=state.nodes(), manifests=state.manifests(),
                          cipher=state.cipher, formats="PDF" if as_pdf else "JSON", key=state.key)
    name = f"disclosure-{request_no}-{data['person_id']}"
    if as_pdf:
        return Response(render_pdf(data), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{quote(name)}.pdf"'})
    return Response(pack_json(data), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{quote(name)}.json"'})


@router.get("/privacy/corrections")
def corrections_page(request: Request, state: State, subject: CurrentSubject, all: str = "",
                     saved: str = "") -> Response:
    return _corrections_page(request, state, subject, bool(all), SAVED.get(saved, ""), NO_FORM)


@refills("/privacy/corrections/{notice_no}")
def _corrections_again(request: Request, form: FormState) -> Response:
    return _corrections_page(request, request.app.state.tsunagu, request.state.account.subject, False, "", form)


def _corrections_page(request: Request, state: AppState, subject: Subject, include_resolved: bool, message: str,
                      form: FormState) -> Response:
    with state.unit() as session:
        notices = corrections.list_notices(session, subject, include_resolved=include_resolved,
                                           manifests=state.manifests(), key=state.key)
    return render(request, state, "corrections.html", notices=notices, include_resolved=include_resolved, form=form,
                  may_answer=state.hub.policy.allows(subject, "sources.load", "administration"), message=message)


@router.post("/privacy/corrections/{notice_no}", dependencies=[CsrfForm])
def correction_answer(
    state: State, subject: CurrentSubject, notice_no: RowId, outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "", export_date: Annotated[str, Form()] = "",
) -> Response:
    with state.unit() as session:
        corrections.resolve_notice(session, subject, notice_no, outcome, note=note,
                                   corrected_export_on=_date(export_date, "出力日", "export_date"), key=state.key)
    return RedirectResponse("/privacy/corrections?saved=answered", status_code=303)
