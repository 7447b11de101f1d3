"""転居時の引継ぎ: the hand-over worklist and intake queue, a task's sending, a received package's
acceptance, and the trusted municipalities. Parse, call ``tsunagu.handover`` (which authorises), render.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tsunagu.handover import detect, directory, envelope, inbox, outbox, service, views
from tsunagu.handover.legal import package_kinds
from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, _row_id, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid
from tsunagu.work.rights.requests import jst_today

router = APIRouter(include_in_schema=False)
SAVED = {
    "detected": "住民記録の異動を確認しました。", "sent": "送付しました。相手の自治体の受領通知を記録しました。",
    "failed": "送付できませんでした。経過の記録に理由があります。", "accepted": "受理し、受理の通知を送付元に返しました。",
    "accepted_only": "受理しました。送付元に窓口がないため、受理の通知（ファイル）をダウンロードしてLGWANメールで返してください。",
    "linked": "住民記録の子どもと照合しました。", "trusted": "信頼する自治体を登録しました。",
    "received": "受け付けました。受領通知（ファイル）をダウンロードして、送付元にLGWANメールで返してください。",
    "receipt": "相手の自治体からの通知を記録しました。",
}


def _attachment(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _worklist(request: Request, state: State, subject: Subject, *, message: str = "", error: str = "",
              status_code: int = 200) -> Response:
    today = jst_today()
    with state.reading() as session:
        view = views.worklist(session, subject, today, key=state.key)
    return render(request, state, "handover.html", view=view, today=today, message=message, error=error,
                  status_code=status_code)


@router.get("/handover")
def worklist_page(request: Request, state: State, subject: CurrentSubject, saved: str = "") -> Response:
    return _worklist(request, state, subject, message=SAVED.get(saved, ""))


@router.post("/handover/detect", dependencies=[CsrfForm])
def detect_moves(state: State, subject: CurrentSubject) -> Response:
    with state.unit() as session:
        views.allow_detection(session, subject, key=state.key)
        report = detect.detect(session, state.nodes(), state.manifests(), today=jst_today(), key=state.key)
    return RedirectResponse(f"/handover?saved=detected&opened={len(report.opened)}", status_code=303)


def _task_page(request: Request, state: State, subject: CurrentSubject, task_id: int, *, error: str = "",
               chosen: dict[str, str] | None = None, status_code: int = 200) -> Response:
    with state.reading() as session:
        view = views.task_view(session, subject, task_id, jst_today(), key=state.key)
    kinds = package_kinds()
    return render(request, state, "handover_task.html", view=view, error=error, status_code=status_code,
                  chosen=chosen or {"kind": view.suggested, "recipient": view.suggested_peer, "via": "http"},
                  kind_specs={k: kinds.of(k) for k in view.kinds})


@refills("/handover/tasks/{task_id}/send")
def _task_again(request: Request, form: FormState) -> Response:
    chosen = {name: form.value(form.action, name) for name in ("kind", "recipient", "via")}
    return _task_page(request, request.app.state.tsunagu, request.state.account.subject,
                      _row_id(int(request.path_params["task_id"])), error=next(iter(form.errors.values()), ""),
                      chosen=chosen, status_code=422)


@router.get("/handover/tasks/{task_id}")
def task_page(request: Request, state: State, subject: CurrentSubject, task_id: RowId) -> Response:
    return _task_page(request, state, subject, task_id)


@router.post("/handover/tasks/{task_id}/send", dependencies=[CsrfForm])
def task_send(state: State, subject: CurrentSubject, task_id: RowId, kind: Annotated[str, Form()] = "",
              recipient: Annotated[str, Form()] = "", via: Annotated[str, Form()] = "http") -> Response:
    identity = state.handover_identity()
    # refused: the task page comes back with the choices made (``_task_again``)
    if via == "file":
        with state.unit() as session:
            package = outbox.prepare(session, subject, task_id, kind=kind, recipient=recipient, identity=identity,
                                     nodes=state.nodes(), cipher=state.cipher, key=state.key)
            package_id, data = package.package_id, package.envelope
            outbox.mark_sent(session, package_id, "file", actor=subject.user_id, key=state.key)
        return _attachment(data, f"tsunagu-handover-{package_id}.json")
    delivery = service.send(state.factory, subject, task_id, kind=kind, recipient=recipient, identity=identity,
                            nodes=state.nodes(), cipher=state.cipher, key=state.key)
    saved = "sent" if delivery.ok else "failed"
    return RedirectResponse(f"/handover/packages/{quote(delivery.package_id)}?saved={saved}", status_code=303)


@router.get("/handover/packages/{package_id}")
def package_page(request: Request, state: State, subject: CurrentSubject, package_id: str, saved: str = "") -> Response:
    return _package_page(request, state, subject, package_id, SAVED.get(saved, ""), NO_FORM)


@refills("/handover/packages/{package_id}/link")
def _package_again(request: Request, form: FormState) -> Response:
    return _package_page(request, request.app.state.tsunagu, request.state.account.subject,
                         request.path_params["package_id"], "", form)


def _package_page(request: Request, state: AppState, subject: Subject, package_id: str, message: str,
                  form: FormState) -> Response:
    with state.reading() as session:
        view = views.package_view(session, subject, package_id, state.handover_identity(), key=state.key)
    return render(request, state, "handover_package.html", view=view, message=message, form=form)


@router.get("/handover/packages/{package_id}/pdf")
def package_pdf(state: State, subject: CurrentSubject, package_id: str) -> Response:
    with state.reading() as session:
        view = views.package_view(session, subject, package_id, state.handover_identity(), key=state.key)
    if view.pdf is None:
        raise Invalid("このパッケージには確認できる要旨（PDF）がありません（送付したパッケージは相手の鍵で暗号化されています）。")
    return Response(view.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="handover-{package_id}.pdf"'})


@router.post("/handover/packages/{package_id}/accept", dependencies=[CsrfForm])
def package_accept(state: State, subject: CurrentSubject, package_id: str) -> Response:
    delivery = service.accept(state.factory, subject, package_id, identity=state.handover_identity(), key=state.key)
    saved = "accepted_only" if delivery.via == "none" else "accepted" if delivery.ok else "failed"
    return RedirectResponse(f"/handover/packages/{quote(package_id)}?saved={saved}", status_code=303)


@router.get("/handover/packages/{package_id}/receipt")
def package_receipt(state: State, subject: CurrentSubject, package_id: str) -> Response:
    """The signed receipt (受領・受理の通知) of a received package, as a file for LGWAN mail."""
    with state.reading() as session:
        view = views.package_view(session, subject, package_id, state.handover_identity(), key=state.key)
        receipt = inbox.received_package(session, package_id).last_receipt if view.row.direction == "received" else None
    if not receipt:
        raise Invalid("このパッケージには返送する受領通知がありません。")
    return _attachment(receipt.encode("utf-8"), f"tsunagu-receipt-{package_id}.json")


async def _upload(file: UploadFile | None) -> bytes:
    if file is None or not file.filename:
        raise Invalid("ファイルを選んでください。")
    data = await file.read(envelope.MAX_ENVELOPE_BYTES + 1)
    if len(data) > envelope.MAX_ENVELOPE_BYTES:
        raise Invalid("ファイルが大きすぎます。")
    return data


@router.post("/handover/inbox", dependencies=[CsrfForm])
async def inbox_upload(request: Request, state: State, subject: CurrentSubject,
                       package: Annotated[UploadFile | None, File()] = None) -> Response:
    """A package that came by LGWAN mail: verified, opened, queued, answered with a receipt file."""
    await run_in_threadpool(_allow, state, subject, "handover.intake")
    data = await _upload(package)
    received = await run_in_threadpool(_take_package, state, subject, data)
    if received.refusal is not None or received.package is None:
        message = received.refusal.message if received.refusal is not None else ""
        return _worklist(request, state, subject, error=f"受け付けませんでした（記録しました）: {message}", status_code=422)
    return RedirectResponse(f"/handover/packages/{quote(received.package.package_id)}?saved=received",
                            status_code=303)


def _allow(state: AppState, subject: Subject, action: str) -> None:
    with state.unit() as session:
        views.allow_detection(session, subject, action=action, key=state.key)


def _take_package(state: AppState, subject: Subject, data: bytes) -> inbox.Received:
    with state.unit() as session:
        return inbox.receive(session, data, identity=state.handover_identity(), nodes=state.nodes(), via="file",
                             key=state.key)


@router.post("/handover/receipts", dependencies=[CsrfForm])
async def receipt_upload(request: Request, state: State, subject: CurrentSubject,
                         receipt: Annotated[UploadFile | None, File()] = None) -> Response:
    """A receipt that came back by LGWAN mail: verified and recorded against the package sent."""
    await run_in_threadpool(_allow, state, subject, "handover.send")
    data = await _upload(receipt)
    delivery = await run_in_threadpool(_take_receipt, state, subject, data)
    if not delivery.ok:
        return _worklist(request, state, subject, error=f"受領通知を記録できませんでした（記録しました）: {delivery.detail}",
                         status_code=422)
    return RedirectResponse(f"/handover/packages/{quote(delivery.package_id)}?saved=receipt", status_code=303)


def _take_receipt(state: AppState, subject: Subject, data: bytes) -> service.Delivery:
    return service.take_receipt(state.factory, data, identity=state.handover_identity(), via="file", key=state.key)


@router.post("/handover/packages/{package_id}/link", dependencies=[CsrfForm])
def package_link(state: State, subject: CurrentSubject, package_id: str, person_id: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        inbox.link(session, subject, package_id, person_id.strip(), key=state.key)
    return RedirectResponse(f"/handover/packages/{quote(package_id)}?saved=linked", status_code=303)


def _card_text(state: State, endpoint: str) -> str:
    card = directory.own_card(state.handover_identity(), endpoint or None).as_dict()
    return json.dumps(card, ensure_ascii=False, indent=2)


@router.get("/handover/municipalities")
def municipalities_page(request: Request, state: State, subject: CurrentSubject, saved: str = "",
                        endpoint: str = "") -> Response:
    with state.reading() as session:
        rows = views.municipalities(session, subject, key=state.key)
    card = _card_text(state, endpoint)
    return render(request, state, "handover_municipalities.html", rows=rows, card=card, message=SAVED.get(saved, ""),
                  typed="", error="")


@refills("/handover/municipalities")
def _municipalities_again(request: Request, form: FormState) -> Response:
    state: AppState = request.app.state.tsunagu
    with state.reading() as session:
        rows = views.municipalities(session, request.state.account.subject, key=state.key)
    return render(request, state, "handover_municipalities.html", rows=rows, status_code=422, message="",
                  card=_card_text(state, ""), typed=form.value(form.action, "card"),
                  error=next(iter(form.errors.values()), ""))


@router.post("/handover/municipalities", dependencies=[CsrfForm])
def municipalities_add(request: Request, state: State, subject: CurrentSubject,
                       card: Annotated[str, Form()] = "") -> Response:
    identity = state.handover_identity()
    # refused: the page comes back with the card as pasted (``_municipalities_again``)
    with state.unit() as session:
        directory.register(session, subject, directory.parse_card(card), own_code=identity.code, key=state.key)
    return RedirectResponse("/handover/municipalities?saved=trusted", status_code=303)
