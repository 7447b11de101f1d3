"""Schemathesis against the staff API's OpenAPI, signed in (issue 18): no server error, and every
answer as the schema documents it. Bounded examples per operation keep it under a minute. The routes
the schema does not describe (the hand-over's and the statistics' pages, ``/municipal``) are probed
with Hypothesis directly."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from handover.packages import PACKAGE_ID, seed_handover
from tsunagu.handover.transport import H_DIGEST, H_FROM, H_NONCE, H_SIGNATURE, H_TIMESTAMP, H_TO
from tsunagu.web.security import SESSION_COOKIE
from web.conftest import Browser
from work.builders import Home

EXAMPLES = 25
# No server error; answers, status codes, content types and headers as documented. Not
# positive_data_acceptance: the schema types the list filters as strings and the app refuses an
# unknown school, domain or sort with a documented 422, which is the behaviour wanted.
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
          response_headers_conformance]


@pytest.mark.filterwarnings("ignore")
def test_the_api_never_answers_a_server_error(home: Home, browser: Callable[..., Browser]) -> None:
    signed_in = browser("cw1")
    app = signed_in.client.app
    cookie = signed_in.client.cookies.get(SESSION_COOKIE)
    assert cookie
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures: list[str] = []
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def probe(case: Case) -> None:
            response = case.call(headers={"X-CSRF-Token": signed_in.csrf}, cookies={SESSION_COOKIE: cookie})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as exc:  # a FailureGroup: collected, reported together below
                failures.append(f"{case.method} {case.path}: {str(exc)[:400]}")

        probe()
    assert not failures, "\n".join(dict.fromkeys(failures))


# Routes outside the OpenAPI, which schemathesis cannot read: the hand-over's pages (#23), the
# intake and shared-case pages (#20) and the statistics (#24) are pages and downloads (include_in_schema=False), and ``/municipal`` — other
# municipalities' tsunagu, signed requests — publishes no schema. They are probed here with
# Hypothesis-made path values, query strings, forms and bodies, signed in as the caseworker who may
# use the pages (task 1 and package PACKAGE_ID exist, so the values also reach real rows).
IDS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=40))
TEXT = st.text(max_size=60)
PAGES = ("/handover/tasks/{id}", "/handover/packages/{id}", "/handover/packages/{id}/pdf",
         "/handover/packages/{id}/receipt", "/handover?saved={id}", "/statistics?k={id}", "/statistics.json?k={id}",
         # #20's intake and shared-case pages, outside the schema too
         "/intakes/{id}", "/intakes/{id}/record.pdf", "/shared/{id}")


@pytest.mark.filterwarnings("ignore")
def test_the_pages_and_api_outside_the_schema_never_answer_a_server_error(
        home: Home, browser: Callable[..., Browser]) -> None:
    seed_handover(home)
    b = browser("cw1")
    failures: list[str] = []

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(page=st.sampled_from(PAGES), value=st.one_of(IDS, st.just("1"), st.just(PACKAGE_ID)))
    def pages(page: str, value: str) -> None:
        url = page.replace("{id}", quote(value, safe=""))
        response = b.client.get(url, follow_redirects=False)
        if response.status_code >= 500:
            failures.append(f"GET {url}: {response.status_code}")

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(task=IDS, kind=TEXT, recipient=TEXT, via=st.one_of(TEXT, st.sampled_from(("http", "file"))))
    def send(task: str, kind: str, recipient: str, via: str) -> None:
        url = f"/handover/tasks/{quote(task, safe='')}/send"
        response = b.post(url, {"kind": kind, "recipient": recipient, "via": via})
        if response.status_code >= 500:
            failures.append(f"POST {url} {kind!r} {recipient!r} {via!r}: {response.status_code}")

    headers = st.dictionaries(st.sampled_from((H_FROM, H_TIMESTAMP, H_NONCE, H_DIGEST, H_SIGNATURE, H_TO)),
                              st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=90))

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(("packages", "receipts")), body=st.binary(max_size=2000), sent=headers)
    def municipal(path: str, body: bytes, sent: dict[str, str]) -> None:
        response = b.client.post(f"/municipal/v1/{path}", content=body, headers=sent)
        if response.status_code >= 500 or "error" not in response.json():
            failures.append(f"POST /municipal/v1/{path} {sent!r}: {response.status_code}")
        elif not response.headers.get(H_SIGNATURE):
            failures.append(f"POST /municipal/v1/{path}: an unsigned answer")

    pages()
    send()
    municipal()
    assert not failures, "\n".join(dict.fromkeys(failures))
