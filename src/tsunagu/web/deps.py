"""Request dependencies: the app state, the signed-in user and their Subject, CSRF checks, rendering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator

from tsunagu.catalog import Catalog
from tsunagu.errors import TsunaguError
from tsunagu.privacy import Policy, Subject
from tsunagu.store.dialects import MAX_ROW_ID
from tsunagu.web.forms import NO_FORM, remember_form
from tsunagu.web.security import WebSession, same_token
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid
from tsunagu.work.users import Account, get_account
from tsunagu.work.voice.alerts import open_alerts

PURPOSE_CHOICES = ("screening", "assessment", "support_coordination", "disclosure_handling")


def _row_id(value: int) -> int:
    """An id outside 1..MAX_ROW_ID names no row: it becomes 0, which no row has, so the request goes on
    to its authorisation (recorded, a refusal included) and then finds nothing — where the raw number
    made the driver overflow before any check (a 500, and no refusal on record): SQLite's above 2^63-1,
    PostgreSQL's above its INTEGER's 2^31-1 (``store.dialects.MAX_ROW_ID``)."""
    return value if 1 <= value <= MAX_ROW_ID else 0


# Every integer id in a path or a form: ``resource_id: RowId``.
RowId = Annotated[int, AfterValidator(_row_id)]


def validation_message(errors: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None) -> str:
    """One Japanese sentence naming the fields a validation refused (no English, no internal names)."""
    names = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = loc[-1] if loc else ""
        names.append((labels or {}).get(field, FIELD_LABELS.get(field, field)) if field else "入力")
    return f"入力が正しくありません（{'、'.join(dict.fromkeys(names)) or '入力'}）。空欄や長すぎる値、数字の形でない値がないか確かめてください。"


FIELD_LABELS = {"name": "名称", "category": "種別", "purpose": "利用目的", "person_id": "個人ID", "note": "メモ",
                "decision": "判断", "rationale": "理由", "reason": "理由", "limit": "件数", "page": "ページ",
                "resource_id": "社会資源", "due_on": "期日", "owner": "担当者", "user_id": "利用者ID",
                "justification": "理由", "minutes": "時間", "status": "状態", "outcome": "結果",
                "eligibility": "対象・利用の条件", "contact": "連絡先", "area": "地域", "display_name": "氏名",
                "role": "役割", "organisation": "所属", "password": "パスワード", "goals": "支援の目標",
                "responsible_body": "主に担当する機関", "next_review_on": "次回の見直し日", "review_id": "二次アセスメント",
                "override_reason": "区分と異なる判断の理由", "kind": "種類", "action": "操作"}


class AuthRequired(TsunaguError):
    """No valid session: the page redirects to sign-in, the API answers 401."""

    code = "unauthenticated"
    status = 401


class CsrfFailed(TsunaguError):
    """A state-changing request without the session's CSRF token."""

    code = "csrf"
    status = 403


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.tsunagu
    return state


State = Annotated[AppState, Depends(app_state)]


def web_session(request: Request) -> WebSession | None:
    found: WebSession | None = getattr(request.state, "web_session", None)
    return found


def current_user(request: Request, state: State) -> Account:
    session = web_session(request)
    if session is None:
        raise AuthRequired()
    with state.read_factory() as db:
        account = get_account(db, session.user_id)
    if account is None or account.disabled or account.session_epoch != session.epoch:
        raise AuthRequired()
    request.state.account = account
    return account


User = Annotated[Account, Depends(current_user)]


def current_subject(account: User) -> Subject:
    return account.subject


CurrentSubject = Annotated[Subject, Depends(current_subject)]


async def check_csrf_form(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    session = web_session(request)
    if session is None or not same_token(csrf_token, session.csrf):
        raise CsrfFailed()
    await remember_form(request)  # a refused form comes back filled in (web/forms.py)


def check_csrf_header(request: Request, x_csrf_token: Annotated[str | None, Header()] = None) -> None:
    session = web_session(request)
    if session is None or not same_token(x_csrf_token, session.csrf):
        raise CsrfFailed()


CsrfForm = Depends(check_csrf_form)
CsrfHeader = Depends(check_csrf_header)


def check_purpose(state: AppState, purpose: str) -> str:
    """A purpose the policy knows (an unknown one would be a PolicyError: a bug, not a refusal)."""
    if purpose not in state.hub.policy.purposes:
        raise Invalid("利用目的を選んでください。")
    return purpose


def navigation(policy: Policy, catalog: Catalog, subject: Subject) -> list[tuple[str, str]]:
    """Menu entries the role can use (pure policy checks: offering a page is not reading data)."""
    entries = [("/dashboard", "ダッシュボード")]
    rels = ("assigned_case", "same_school", "municipality")
    if any(policy.allows(subject, "candidates.list", p, relationship=r, sensitivity=2) for p in ("screening", "assessment")
           for r in rels):
        entries.append(("/candidates", "候補一覧"))
    if any(policy.allows(subject, "case.list", "support_coordination", relationship=r, sensitivity=2) for r in rels):
        entries.append(("/cases/mine", "ケース"))
    if policy.allows(subject, "case.list", "support_coordination", relationship="municipality", sensitivity=3):
        entries.append(("/ledger", "進行管理台帳"))
    entries.append(("/resources", "社会資源"))
    if policy.allows(subject, "intake.list", "assessment", relationship="own_agency", sensitivity=3):
        entries.append(("/intakes", "受理・安全確認"))
    if policy.allows(subject, "shared.list", "support_coordination", relationship="own_agency", sensitivity=3):
        entries.append(("/shared", "共有ケース"))
    if subject.organisation in catalog.departments and policy.allows(
            subject, "outreach.list", "outreach", relationship="municipality", sensitivity=2, holder=subject.organisation):
        entries.append(("/outreach", "未利用の対象世帯"))
    if policy.allows(subject, "voice.inbox", "consultation", relationship="own_agency", sensitivity=3):
        entries.append(("/voice", "子どもからの相談"))
    if policy.allows(subject, "kokoro.classes", "wellbeing"):
        entries.append(("/kokoro", "心の天気"))
    if policy.allows(subject, "link.review", "screening", relationship="municipality"):
        entries.append(("/link-review", "名寄せ確認"))
    if policy.allows(subject, "handover.send", "handover", relationship="municipality", sensitivity=3):
        entries.append(("/handover", "転居時の引継ぎ"))
    elif policy.allows(subject, "handover.manage", "administration"):
        entries.append(("/handover/municipalities", "引継ぎ先の自治体"))
    if any(policy.allows(subject, a, "administration") for a in ("users.manage", "sources.load", "rules.manage")):
        entries.append(("/admin", "管理"))
    if policy.allows(subject, "audit.read", "administration") or policy.allows(subject, "audit.read", "disclosure_handling"):
        entries.append(("/privacy", "個人情報保護"))
    elif policy.allows(subject, "sources.load", "administration"):
        entries.append(("/privacy/corrections", "訂正の連絡"))  # the holding department's side of a correction
    if policy.allows(subject, "statistics.read", "statistics"):
        entries.append(("/statistics", "統計"))
    if policy.allows(subject, "ranking.manage", "administration"):
        entries.append(("/ranking", "学習による並べ替え"))
    return entries


def may_search(policy: Policy, subject: Subject) -> bool:
    """Whether the header offers the search box (a pure policy check, as the menu)."""
    return any(policy.allows(subject, "children.search", p, relationship=r, sensitivity=2)
               for p in ("screening", "assessment") for r in ("assigned_case", "same_school", "municipality"))


def render(request: Request, state: AppState, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    account: Account | None = getattr(request.state, "account", None)
    session = web_session(request)
    policy = state.hub.policy
    voice_alerts = None
    if account is not None:  # the banner on every staff page: counts only, no child's data
        with state.read_factory() as db:
            voice_alerts = open_alerts(db, account.user_id)
    base = state.render_context(
        voice_alerts=voice_alerts,
        account=account,
        csrf_token=session.csrf if session is not None else "",
        nav=navigation(policy, state.hub.catalog, account.subject) if account is not None else [],
        current_path=request.url.path,
        purpose_labels={p: policy.purpose_label(p) for p in PURPOSE_CHOICES},
        header_search=account is not None and may_search(policy, account.subject),
    )
    base.setdefault("form", NO_FORM)  # the refused form's values and messages, when there is one
    return state.templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
