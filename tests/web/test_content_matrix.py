"""Route × role × relationship, by content: no sensitive department, source or item of a child in any
response a role may not see — asserted on the HTML, the JSON and the CSV (issue 18).

P0001 (S001, in teacher1's class) has a 児童相談所 case at a placement address and 生活保護; the
other children have neither. Every GET route is asked by every kind of account, for every child
and every purpose; the words below are data (labels of the records, ids, values), never the
app's static text (a role's name such as 児童相談所職員 on the admin page is not a child's data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from handover.packages import seed_handover
from tsunagu.handover.models import HandoverTask
from tsunagu.privacy import Subject
from tsunagu.work import users as accounts
from tsunagu.work.unit import unit_of_work
from web.conftest import Browser
from web.test_meta import PATH_VALUES, routes_of
from web.test_statistics import add_statistics_officer
from work.builders import APPROVER, PASSWORD, Home

# Sensitivity 3: the 児童相談所 record and the abuse consultation behind P0001's reason — its data
# (anywhere) and the names of the department and source holding it (on any page about children; the
# administrator's list of sources names every source, of no child).
CHILD_GUIDANCE = ("J-2026-0042", "北町9丁目", "養護相談（虐待）", "最近の虐待相談", "abuse_consultation", "ネグレクト",
                  "cgc_case", "ssw_involvement")
CHILD_GUIDANCE_NAMES = ("児童相談所（県）", "児童相談所 ケース記録", "jisou")
# Sensitivity 2 held by the welfare office: not for school staff (their items are the schools').
WELFARE = ("seiho_jukyu", "生活保護受給")
WELFARE_NAMES = ("生活福祉課（生活保護）", "生活保護 受給状況")
SYSTEM_PAGES = ("/admin",)
SCHOOL = CHILD_GUIDANCE + WELFARE + CHILD_GUIDANCE_NAMES + WELFARE_NAMES
FORBIDDEN = {"teacher1": SCHOOL, "teacher2": SCHOOL, "head1": SCHOOL, "po1": CHILD_GUIDANCE + CHILD_GUIDANCE_NAMES,
             "admin1": SCHOOL, "steward1": SCHOOL,
             "stats1": SCHOOL,  # the statistics officer (#24): aggregates only, no child's record at all
             # the programme officer (#21): their own department's outreach, sensitivity 2 at most and
             # never another department's values
             "officer1": CHILD_GUIDANCE + CHILD_GUIDANCE_NAMES + WELFARE}
NAMES = frozenset(CHILD_GUIDANCE_NAMES + WELFARE_NAMES)
PURPOSES = ("screening", "assessment", "support_coordination", "disclosure_handling", "handover")
# Hand-over (#23): task 1 is P0002's (seed_handover); task 2 is P0001's, whose 児童相談所 case is the
# matrix's sensitive record, so the task page of a child with such a record is probed too.
TASK_IDS = ("1", "2")
# The access log is the oversight record itself: its readers (privacy officer, administrator) see which
# items were read — the log's purpose, and a stated limit (docs/security.md). Not a view of a child.
LOG_ROUTES = ("/privacy", "/privacy/history/{person_id}")


def _urls(home: Home) -> list[str]:
    urls = []
    for method, template in routes_of(home):
        if method != "GET" or template in LOG_ROUTES or template.startswith(("/static", "/public")):
            continue
        persons = ("P0001", "P0002", "P0003") if "{person_id}" in template else ("",)
        tasks = TASK_IDS if "{task_id}" in template else ("",)
        for person, task in ((p, t) for p in persons for t in tasks):
            values = {**PATH_VALUES, "person_id": person, "task_id": task}
            url = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], template)  # type: ignore[misc]
            takes_purpose = "{person_id}" in template or template in ("/candidates", "/candidates.csv",
                                                                       "/api/candidates")
            urls.extend(f"{url}?purpose={p}" for p in PURPOSES) if takes_purpose else urls.append(url)
    return urls


@pytest.fixture
def principal(home: Home) -> None:
    with unit_of_work(home.factory) as session:
        accounts.create_user(session, Subject("setup", "administrator", "cli"), "head1", role="school_manager",
                             display_name="校長", organisation="S001", password=PASSWORD, approver=APPROVER)
    add_statistics_officer(home)
    seed_handover(home)
    with home.factory.begin() as session:
        session.add(HandoverTask(person_id="P0001", direction="out", moved_on=date(2026, 12, 2),
                                 reasons_json='["open_case"]', kind="case_transfer", due_on=date(2026, 12, 9),
                                 owner="cw1", status="open", detected_at=datetime.now(UTC)))


@pytest.mark.usefixtures("principal")
def test_no_role_sees_a_sensitive_record_it_may_not(home: Home, browser: Callable[..., Browser]) -> None:
    urls = _urls(home)
    assert len(urls) > 40
    leaks = []
    shown = 0
    statuses: dict[tuple[str, str], int] = {}
    for user, words in FORBIDDEN.items():
        b = browser(user)
        for url in urls:
            response = b.client.get(url, follow_redirects=False)
            assert response.status_code < 500, (user, url)
            body = response.text
            shown += response.status_code == 200
            statuses[user, url] = response.status_code
            system = url.split("?")[0] in SYSTEM_PAGES
            leaks.extend((user, url, w) for w in words if w in body and not (system and w in NAMES))
    assert not leaks, leaks[:20]
    assert shown > 60  # the matrix looked at real pages, not only refusals — the probe's cases among them
    for case in (("teacher1", "/children/P0001?purpose=assessment"), ("head1", "/api/children/P0001?purpose=screening"),
                 ("head1", "/children/P0001?purpose=screening"), ("po1", "/api/children/P0001?purpose=disclosure_handling"),
                 ("stats1", "/statistics"), ("stats1", "/statistics.json"), ("teacher1", "/statistics.csv"),
                 ("admin1", "/handover/municipalities"), ("officer1", "/outreach")):
        assert statuses[case] == 200, case
    # The hand-over's pages are for the centre's staff only: every other role is refused (and sees nothing).
    assert all(statuses[user, url] == 403 for user in FORBIDDEN for url in urls
               if url.startswith(("/handover/tasks", "/handover/packages"))), "a hand-over page opened"


def test_the_matrix_would_see_a_leak(browser: Callable[..., Browser]) -> None:
    """The same words do appear for a role that may see them: the matrix is not blind."""
    caseworker = browser("cw1")
    page = caseworker.client.get("/children/P0001?purpose=assessment").text
    api = caseworker.client.get("/api/children/P0001?purpose=assessment").text
    for body in (page, api):
        assert "児童相談所（県）" in body and "北町9丁目" in body and "生活福祉課（生活保護）" in body
