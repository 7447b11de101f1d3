"""A class of S001 with pupil codes, a consultation thread and the on-duty roster, for the voice tests."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from tsunagu.privacy import Subject
from tsunagu.work import users as accounts
from tsunagu.work.voice import alerts, kokoro, threads
from tsunagu.work.voice.codes import code_key
from work.builders import APPROVER, PASSWORD, Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TEACHER = Subject("teacher1", "teacher", "S001")
PRINCIPAL = Subject("principal1", "school_manager", "S001")
CENTRE = Subject("cw1", "centre_caseworker", "family_centre")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    codes: dict[str, str]  # pupil number -> code
    class_id: int
    thread_id: int


def seed_voice(home: Home) -> Seeded:
    """Class 1 (teacher1's 5年1組 at S001: pupils 0001, 0002, 0004 — P0001, P0002 and one not linked),
    thread 1 (pupil 0002's, consent given), cw1 on duty, and a school manager principal1."""
    key = code_key(home.settings.home)
    with home.factory.begin() as session:
        accounts.create_user(session, Subject("setup", "administrator", "cli"), "principal1", role="school_manager",
                             display_name="校長 先生", organisation="S001", password=PASSWORD, approver=APPROVER)
        klass, issued = kokoro.issue_codes(session, TEACHER, label="5年1組", pupils=["0001", "0002", "0004"],
                                           code_key=key)
        alerts.set_duty(session, CENTRE, ["cw1"])
        codes = {c.pupil_no: c.code for c in issued}
        code = kokoro.sign_in(session, codes["0002"], code_key=key, ip="test")
        thread = threads.write(session, None, "ともだちと けんかした", cipher=home.cipher, code=code)
        threads.consent(session, thread)
        return Seeded(codes, klass.id, thread.id)


class Child:
    """A child's browser on the children's pages (its own cookie jar)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def _token(self, text: str) -> str:
        found = CSRF.search(text)
        assert found is not None
        return found.group(1)

    def sign_in(self, code: str) -> int:
        token = self._token(self.client.get("/kodomo/").text)
        response = self.client.post("/kodomo/signin", data={"code": code, "csrf_token": token}, follow_redirects=False)
        if response.status_code == 303:
            self.csrf = self._token(self.client.get("/kodomo/soudan").text)
        return response.status_code

    def anonymous(self) -> str:
        token = self._token(self.client.get("/kodomo/").text)
        page = self.client.post("/kodomo/anonymous", data={"csrf_token": token}, follow_redirects=False)
        found = re.search(r'id="reentry-word">([^<]+)<', page.text)
        assert found is not None
        self.csrf = self._token(page.text)
        return found.group(1)

    def post(self, url: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False)
