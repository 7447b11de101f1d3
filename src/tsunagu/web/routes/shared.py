"""共有ケース: the view the 児童相談所 and the こども家庭センター share, and its recorded acts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, _row_id, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid
from tsunagu.work.urgency import intake as intakes
from tsunagu.work.urgency import shared

router = APIRouter(include_in_schema=False)
SAVED = {"opened": "共有ケースにしました。", "message": "連絡を記録しました。", "status": "状況を記録しました。",
         "handed": "送致を記録しました。相手機関の受領を待っています。", "received": "受領を記録しました。主担当機関が替わりました。"}


def _back(case_id: int, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/shared/{case_id}?saved={saved}", status_code=303)


@router.get("/shared")
def shared_list(request: Request, state: State, subject: CurrentSubject) -> Response:
    with state.reading() as session:
        views = shared.list_cases(session, subject, cipher=state.cipher, key=state.key)
    return render(request, state, "shared_list.html", views=views)


@router.post("/shared/open", dependencies=[CsrfForm])
def shared_open(state: State, subject: CurrentSubject, intake_id: Annotated[RowId, Form()],
                status: Annotated[str, Form()] = "調査中") -> Response:
    with state.unit() as session:
        view = intakes.get_intake(session, subject, intake_id, cipher=state.cipher, key=state.key)
        if view.person_id is None:
            raise Invalid("住民記録と照合していない受理は共有ケースにできません。先に子どもを照合してください。")
        case = shared.open_case(session, subject, view.person_id, status=status, cipher=state.cipher, key=state.key)
    return _back(case.id, "opened")


@router.get("/shared/{case_id}")
def shared_page(request: Request, state: State, subject: CurrentSubject, case_id: RowId, saved: str = "") -> Response:
    return _shared_page(request, state, subject, case_id, SAVED.get(saved, ""), NO_FORM)


@refills("/shared/{case_id}/message", "/shared/{case_id}/status", "/shared/{case_id}/hand-over")
def _shared_again(request: Request, form: FormState) -> Response:
    return _shared_page(request, request.app.state.tsunagu, request.state.account.subject,
                        _row_id(int(request.path_params["case_id"])), "", form)


def _shared_page(request: Request, state: AppState, subject: Subject, case_id: int, message: str,
                 form: FormState) -> Response:
    with state.reading() as session:
        view = shared.get_case(session, subject, case_id, cipher=state.cipher, key=state.key)
    agency = intakes.agency_of(subject)
    return render(request, state, "shared.html", view=view, message=message, statuses=shared.STATUSES, form=form,
                  my_agency=agency, is_lead=agency == view.lead_agency,
                  hand_kind="hand_up" if agency == "centre" else "hand_back",
                  hand_details=shared.HAND_KINDS["hand_up" if agency == "centre" else "hand_back"])


@router.post("/shared/{case_id}/message", dependencies=[CsrfForm])
def shared_message(state: State, subject: CurrentSubject, case_id: RowId, note: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        shared.send_message(session, subject, case_id, note=note, cipher=state.cipher, key=state.key)
    return _back(case_id, "message")


@router.post("/shared/{case_id}/status", dependencies=[CsrfForm])
def shared_status(state: State, subject: CurrentSubject, case_id: RowId, status: Annotated[str, Form()] = "",
                  next_contact_on: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    try:
        next_on = date.fromisoformat(next_contact_on) if next_contact_on.strip() else None
    except ValueError as exc:
        raise Invalid("次の連絡予定日は 年-月-日 で入力してください。", field="next_contact_on") from exc
    with state.unit() as session:
        shared.set_status(session, subject, case_id, status=status, next_contact_on=next_on, note=note,
                          cipher=state.cipher, key=state.key)
    return _back(case_id, "status")


@router.post("/shared/{case_id}/hand-over", dependencies=[CsrfForm])
def shared_hand(state: State, subject: CurrentSubject, case_id: RowId, kind: Annotated[str, Form()] = "",
                detail: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        shared.hand_over(session, subject, case_id, kind=kind, detail=detail, note=note, cipher=state.cipher,
                         hours=intakes.safety_hours(state.settings.home), key=state.key)
    return _back(case_id, "handed")


@router.post("/shared/{case_id}/acts/{act_id}/receipt", dependencies=[CsrfForm])
def shared_receipt(state: State, subject: CurrentSubject, case_id: RowId, act_id: RowId) -> Response:
    with state.unit() as session:
        shared.acknowledge(session, subject, case_id, act_id, cipher=state.cipher, key=state.key)
    return _back(case_id, "received")
