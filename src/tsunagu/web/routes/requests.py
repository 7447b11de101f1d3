"""個人情報保護 → 請求: the family's requests for the privacy officer, and the correction notices
for the holding departments' data stewards. Parse, call ``work.rights`` (which authorises), render.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, render
from tsunagu.work.access import allows
from tsunagu.work.errors import Invalid
from tsunagu.work.rights import corrections, requests
from tsunagu.work.rights.deadlines import KINDS, default_periods
from tsunagu.work.rights.deletion import DeletionScope
from tsunagu.work.rights.disclosure import build_pack, pack_json
from tsunagu.work.rights.pdf import FontMissingError, register_font, render_pdf

router = APIRouter(include_in_schema=False)
ACTIONS = ("start", "extend", "complete", "refuse", "lift")
SAVED = {
    "created": "請求を受け付けました。期限は受付日と種類から計算しました。", "start": "対応中にしました。",
    "extend": "期限を延長しました。請求者に延長と理由を通知してください。", "complete": "請求を完了しました。",
    "refuse": "請求に応じない決定を記録しました。請求者に理由を通知してください。",
    "lift": "利用停止を解除しました。", "answered": "訂正の連絡に回答しました。",
}


def _date(text: str, label: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{label}は YYYY-MM-DD で入力してください。") from exc


@router.get("/privacy/requests")
def requests_page(request: Request, state: State, subject: CurrentSubject, open: str = "", saved: str = "") -> Response:
    with state.unit() as session:
        views = requests.list_requests(session, subject, open_only=bool(open), key=state.key)
    return render(request, state, "requests.html", views=views, open_only=bool(open), message=SAVED.get(saved, ""),
                  kinds={k: default_periods().of(k).label for k in KINDS}, requester_kinds=requests.REQUESTER_KINDS,
                  today=requests.jst_today())


@router.post("/privacy/requests", dependencies=[CsrfForm])
def request_add(
    state: State, subject: CurrentSubject, person_id: Annotated[str, Form()], kind: Annotated[str, Form()],
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
            received_on=_date(received_on, "受付日") or requests.jst_today(), claims=claims,
            deletion=DeletionScope(bool(work_records), work_reason), manifests=state.manifests(), key=state.key,
        )
    return RedirectResponse(f"/privacy/requests/{view.id}?saved=created", status_code=303)


@router.get("/privacy/requests/{request_no}")
def request_page(request: Request, state: State, subject: CurrentSubject, request_no: RowId, saved: str = "") -> Response:
    with state.unit() as session:
        view = requests.get_request(session, subject, request_no, manifests=state.manifests(), key=state.key)
    return render(request, state, "request.html", view=view, message=SAVED.get(saved, ""))


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
    with state.unit() as session:
        notices = corrections.list_notices(session, subject, include_resolved=bool(all), manifests=state.manifests(),
                                           key=state.key)
    return render(request, state, "corrections.html", notices=notices, include_resolved=bool(all),
                  may_answer=allows(subject, "sources.load", "administration"), message=SAVED.get(saved, ""))


@router.post("/privacy/corrections/{notice_no}", dependencies=[CsrfForm])
def correction_answer(
    state: State, subject: CurrentSubject, notice_no: RowId, outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "", export_date: Annotated[str, Form()] = "",
) -> Response:
    with state.unit() as session:
        corrections.resolve_notice(session, subject, notice_no, outcome, note=note,
                                   corrected_export_on=_date(export_date, "出力日"), key=state.key)
    return RedirectResponse("/privacy/corrections?saved=answered", status_code=303)
