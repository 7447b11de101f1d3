"""No internal id or English code on a page a person reads (issue 19, findings 7-10).

Driven by the app's routes (like test_meta.py), so pages other people add are scanned too: every
staff page each role can open, and the PDFs, rendered and read as a person reads them (the text
shown, the labels of controls), then searched for the codes people must never have to decode —
role, department, source, purpose, action and rule ids, ``true``/``false``, ``M``/``F``, snake_case
names and the like.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from handover.packages import seed_handover
from tsunagu.catalog import default_catalog
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.privacy import Subject, default_policy
from tsunagu.web.app import create_app
from tsunagu.work import users as accounts
from web.conftest import Browser
from web.test_meta import _seed_intake, _seed_pair, _seed_requests, _seed_work, flat_routes, url_of
from work.builders import PASSWORD, USERS, Home

# Every demo role, not only the small home's accounts: (user, role, organisation).
MORE_USERS = {"cgc1": ("child_guidance_caseworker", "child_guidance_centre"),
              "nurse1": ("public_health_nurse", "maternal_child_health"),
              "principal1": ("school_manager", "S001"), "stats1": ("statistics_officer", "政策企画課")}
SKIP = ("/api", "/static", "/docs", "/redoc", "/openapi.json", "/municipal", "/public")
# ASCII a person may meet in Japanese office software: units, formats, names of standards.
ALLOWED = {"ID", "CSV", "PDF", "JSON", "API", "URL", "SSW", "SC", "YYYY-MM-DD", "HTTP", "HTTPS", "LGWAN", "OK",
           "Ctrl", "k", "n", "N", "AUC", "PPV", "SHA", "ed25519", "Ed25519", "DV", "NPO", "LINE", "PC", "GIGA",
           "AI", "IT", "ICT", "Q", "A", "No"}


# Not read as prose: scripts and styles, and what is marked as code (a parameter's key in a rules file,
# a registration card to paste into the other municipality's system) — shown as code on purpose.
HIDDEN_TAGS = ("script", "style", "code", "pre")
FILE_NAME = re.compile(r"[\w\-]+\.(yaml|yml|md|csv|json|pdf|html)")


class _Visible(HTMLParser):
    """The text a person sees (and hears from a screen reader): text outside scripts and styles, the
    options of selects, and the labels of controls; not hidden inputs, ids or URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.parts)


def _codes() -> set[str]:
    policy, catalog = default_policy(), default_catalog()
    rules = {rule.id for rule in policy.spec.rules}
    return (set(policy.roles) | set(catalog.departments) | set(packaged_manifests().manifests) | set(policy.purposes)
            | set(policy.actions) | rules | {"deny.relationship", "deny.role_action", "deny.purpose", "deny.holder",
                                              "deny.no_child_detail", "deny.sensitivity.duty", "deny.sensitivity.rule"})


CODES = _codes()
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.:\-]*[A-Za-z0-9]|[A-Za-z]")


def codes_in(text: str) -> list[str]:
    """The tokens of ``text`` a person should not have to read."""
    found = []
    for token in TOKEN.findall(text):
        if token in ALLOWED or FILE_NAME.fullmatch(token):
            continue  # a file name is what a person types or looks for
        if (token in CODES or token.lower() in ("true", "false", "none", "null", "seq") or token in ("M", "F")
                or "_" in token or token.startswith("tsunagu:")
                or re.fullmatch(r"[a-z]+(\.[a-z_]+)+", token)):  # a rule or action id: deny.relationship
            found.append(token)
    return found


def test_the_scanner_finds_what_people_should_not_read() -> None:
    page = ('<p>拒否（deny.relationship）</p><td>true</td><td>M</td><option>juki_jumin</option>'
            '<span aria-label="family_centre">x</span><p>tsunagu:household</p><input type="hidden" value="true">'
            '<script>var a_b = true;</script><p>CSV と PDF、ID は読める</p>')
    assert codes_in(visible_text(page)) == ["deny.relationship", "true", "M", "juki_jumin", "family_centre",
                                            "tsunagu:household"]


@pytest.fixture
def full_home(home: Home) -> Home:
    _seed_work(home)
    _seed_pair(home)
    _seed_requests(home)
    seed_handover(home)
    _seed_intake(home)
    admin, privacy = Subject("setup", "administrator", "cli"), Subject("setup-privacy", "privacy_officer", "privacy")
    with home.factory.begin() as session:
        for user_id, (role, organisation) in MORE_USERS.items():
            accounts.create_user(session, admin, user_id, role=role, display_name=f"{user_id} 氏名",
                                 organisation=organisation, password=PASSWORD, approver=privacy)
    return home


def _pages(home: Home) -> Iterator[str]:
    for route in flat_routes(create_app(home.settings).routes):
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()) and not route.path.startswith(SKIP) \
                and route.path != "/":
            yield route.path


def _pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout


def test_no_page_or_pdf_shows_internal_codes_to_any_role(full_home: Home, browser: Callable[..., Browser]) -> None:
    problems: dict[str, list[str]] = {}
    shown = 0
    for user in [*USERS, *MORE_USERS]:
        b = browser(user)
        for template in _pages(full_home):
            query = {"purpose": "assessment"} if "{person_id}" in template else {}
            if template == "/children/{person_id}/support":
                query = {"purpose": "support_coordination"}
            response = b.client.get(url_of(template, user), params=query, follow_redirects=False)
            if response.status_code != 200:
                continue  # refused or elsewhere: the refusal page is scanned when it is shown
            kind = response.headers.get("content-type", "")
            if kind.startswith("text/html"):
                text = visible_text(response.text)
            elif kind.startswith("application/pdf"):
                text = _pdf_text(response.content)
            else:
                continue  # CSV and JSON are for programs
            shown += 1
            found = codes_in(text)
            if found:
                problems.setdefault(template, []).extend(f"{user}: {code}" for code in dict.fromkeys(found))
    assert shown > 100
    assert problems == {}, "\n".join(f"{page}: {', '.join(dict.fromkeys(found))}" for page, found in problems.items())


def test_reasons_read_as_words_and_once_each() -> None:
    from tsunagu.work.candidates import Reason
    from tsunagu.work.wording import grouped, reason_item_label, reason_value, with_unit

    items = default_catalog().items
    assert reason_value("true", items["material_fee_arrears"]) == "あり"
    assert reason_value("false", None) == "なし" and reason_value("125", items["absence_days"]) == "125"
    # a reason's value is its indicator's (a 12-month total): not labelled as one month's count
    assert items["absence_days"].label.endswith("（月）")
    assert reason_item_label(items["absence_days"]) == "欠席日数（判定に用いた集計値）"
    assert with_unit("46.3", "偏差値") == "偏差値 46.3" and with_unit("8", "日") == "8日"
    care = "ケアの必要な世帯員がいて、欠席や遅刻が多い"
    rows = [Reason("yc", care, "x", "欠席日数", "125", None, None, False, 1),
            Reason("yc", care, "x", "欠席日数", "125", None, None, False, 1),
            Reason("yc", care, "y", "遅刻回数", "0", None, None, False, 1),
            Reason("abs", "欠席が多い", "x", "欠席日数", "125", None, None, False, 2)]
    lines = grouped(rows)
    assert [(line.label, len(line.evidence)) for line in lines] == [(care, 2), ("欠席が多い", 1)]


def test_a_parent_and_child_pair_shows_the_evidence_against_and_no_record_as_such() -> None:
    from tsunagu.work.linkreview import _against, _rows

    rows = [("full_name", "山田　太郎", "山田　太郎"), ("birth_date", "1985-04-02", "2014-06-10"),
            ("sex", "M", "M"), ("guardian_name", "", "山田　花子")]
    against = _against(rows)
    assert len(against) == 1 and "29年離れています" in against[0]
    shown = _rows(rows)
    assert shown[2] == ("性別", "男", "男", "same")
    assert shown[3] == ("保護者氏名", "記録なし", "山田　花子", "missing")
