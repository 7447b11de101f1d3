"""Concurrent staff users against a running staff app: sign in, then list and open children.

Each virtual user signs in on its own (as 20 staff would), then alternates, pausing the think
time it is given (the benchmarks give a mean second, ``tsunagu.bench.DEFAULT_THINK_MS``): the
candidate list (a random filter, sort and page) and a child page (a child seen on a list, with a
random purpose the role may use), and a search (``/search``: a name, a reading or a birth date
learned from a child page already seen, or a school) in one of three turns. A user sends its next request when the last one is answered and
its pause is over, so with no think time this is the heaviest load the users can make, not a
model of how often staff click.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tsunagu.bench.stats import latency_summary
from tsunagu.errors import TsunaguError
from tsunagu.screen.model import DOMAINS
from tsunagu.work.candidates import LISTED_TIERS, SORTS

LIST_PURPOSES = ("screening", "assessment")
CHILD_PURPOSES = ("screening", "assessment", "support_coordination")  # centre_caseworker's child.view purposes
TARGET_P95_MS = 200.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CHILD_LINK = re.compile(r'href="/children/([^"/?]+)"')
_PAGES = re.compile(r"（\d+ / (\d+)ページ）")
_SCHOOL_SELECT = re.compile(r'<select id="f-school" name="school">(.*?)</select>', re.S)
_OPTION = re.compile(r'<option value="([^"]+)"')
_NAME = re.compile(r'<h1>([^<]+?) <span class="reading">([^<]*)</span></h1>')
_BIRTH = re.compile(r"（(\d{4}-\d{2}-\d{2})生）")


@dataclass(frozen=True)
class LoadConfig:
    users: int = 20
    seconds: float = 30.0
    max_requests: int = 20_000
    seed: int = 1
    think_seconds: float = 0.0
    request_timeout: float = 60.0


@dataclass
class _Shared:
    """What the users learn from the pages and what they measure, shared by every user."""

    config: LoadConfig
    budget: int
    children: list[str] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    schools: list[str] = field(default_factory=list)
    pages: dict[str, int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"candidate_list": [], "child_page": [],
                                                                        "search": []})
    # What a user could type into the search box: names, readings and birth dates seen on child pages.
    names: list[tuple[str, str, str]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def fail(self, what: str, detail: str) -> None:
        self.errors[what] += 1
        if len(self.samples) < 10:  # a few examples say more than the counts alone
            self.samples.append(f"{what}: {detail[:300]}")

    def take(self) -> bool:
        # A single event loop runs every user, so this check-and-decrement needs no lock.
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    def learn_child(self, html: str) -> None:
        name, birth = _NAME.search(html), _BIRTH.search(html)
        if name and len(self.names) < 5000:
            self.names.append((name.group(1), name.group(2), birth.group(1) if birth else ""))

    def learn(self, key: str, html: str) -> None:
        for person in _CHILD_LINK.findall(html):
            if person not in self.known:
                self.known.add(person)
                self.children.append(person)
        found = _PAGES.search(html)
        self.pages[key] = int(found.group(1)) if found else 1
        if not self.schools:
            select = _SCHOOL_SELECT.search(html)
            self.schools = _OPTION.findall(select.group(1)) if select else []


class SignInFailed(TsunaguError, RuntimeError):
    """The benchmark's simulated user could not sign in."""

    code = "bench_sign_in"


async def sign_in(client: httpx.AsyncClient, user_id: str, password: str) -> None:
    """The browser's flow: the form (with its pre-session CSRF token and cookie), then the POST."""
    form = await client.get("/")
    token = _CSRF.search(form.text)
    if form.status_code != 200 or token is None:
        raise SignInFailed(f"sign-in page: HTTP {form.status_code}, CSRF token {'found' if token else 'missing'}")
    done = await client.post("/login", data={"user_id": user_id, "password": password, "csrf_token": token.group(1),
                                             "next_path": "/dashboard"})
    if done.status_code != 303:
        raise SignInFailed(f"sign-in refused: HTTP {done.status_code}")


def _search_request(rng: random.Random, shared: _Shared) -> dict[str, str]:
    """What a user types: a family name, a whole name, a reading, a birth date (in one of the ways
    a clerk writes it), a name and a date — or, before any child page was seen, a school."""
    params = {"purpose": rng.choice(LIST_PURPOSES)}
    if not shared.names:
        params["school"] = rng.choice(shared.schools) if shared.schools else ""
        params["q"] = "" if params["school"] else "つなぐ"
        return params
    name, reading, birth = rng.choice(shared.names)
    family = name.replace("\u3000", " ").split(" ")[0]
    choice = rng.random()
    if choice < 0.3:
        params["q"] = name
    elif choice < 0.5:
        params["q"] = reading
    elif choice < 0.7 and birth:
        params["q"] = birth if rng.random() < 0.5 else birth.replace("-", "/")
    elif birth:
        params["q"] = f"{family} {birth}"
    else:
        params["q"] = family
    return params


def _list_request(rng: random.Random, shared: _Shared) -> tuple[str, dict[str, str]]:
    """A random filter, sort and page, as a user of the filter form would ask."""
    params = {"purpose": rng.choice(LIST_PURPOSES), "sort": rng.choice(sorted(SORTS))}
    choice = rng.random()
    if choice < 0.15:
        params["tier"] = rng.choice(LISTED_TIERS)
    elif choice < 0.3 and shared.schools:
        params["school"] = rng.choice(shared.schools)
    elif choice < 0.4:
        params["domain"] = rng.choice(sorted(DOMAINS))
    elif choice < 0.5:
        params["no_mark"] = "true"
    key = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("purpose", "sort"))
    # Most views are the first pages; a page beyond the last is clamped by the app anyway.
    pages = shared.pages.get(key, 1)
    params["page"] = str(rng.randint(1, min(pages, 3)) if rng.random() < 0.7 else rng.randint(1, pages))
    return key, params


async def _one(client: httpx.AsyncClient, shared: _Shared, kind: str, url: str, params: dict[str, str],
               key: str | None) -> None:
    started = time.perf_counter()
    try:
        response = await client.get(url, params=params)
    except httpx.HTTPError as exc:
        shared.fail(f"{kind}: {type(exc).__name__}", f"{url} {exc!r} after {time.perf_counter() - started:.2f} s")
        return
    elapsed = time.perf_counter() - started
    shared.statuses[f"{kind}: {response.status_code}"] += 1
    if response.status_code != 200:
        shared.fail(f"{kind}: HTTP {response.status_code}", f"{url} {response.text[:200]!r}")
        return
    shared.latencies[kind].append(elapsed)
    if key is not None:
        shared.learn(key, response.text)
    elif kind == "child_page":
        shared.learn_child(response.text)


async def _user(number: int, client: httpx.AsyncClient, shared: _Shared, deadline: float) -> None:
    rng = random.Random(shared.config.seed * 1000 + number)
    turn = number  # users start on different page kinds, so both are asked from the first second
    if shared.config.think_seconds:
        # Staff do not click in step: each user's first request comes after a pause drawn like the
        # later ones, so the load is steady from the start instead of 20 requests in one instant.
        await asyncio.sleep(rng.uniform(0, 2 * shared.config.think_seconds))
    while time.monotonic() < deadline and shared.take():
        if turn % 3 == 0 or not shared.children:
            key, params = _list_request(rng, shared)
            await _one(client, shared, "candidate_list", "/candidates", params, key)
        elif turn % 3 == 2:
            await _one(client, shared, "search", "/search", _search_request(rng, shared), None)
        else:
            person = rng.choice(shared.children)
            await _one(client, shared, "child_page", f"/children/{person}",
                       {"purpose": rng.choice(CHILD_PURPOSES)}, None)
        turn += 1
        if shared.config.think_seconds:
            await asyncio.sleep(rng.uniform(0, 2 * shared.config.think_seconds))


async def _warm(client: httpx.AsyncClient) -> httpx.Response:
    """The first list after signing in. A user who signed in first waits for the others longer than
    the server keeps an idle connection (uvicorn: 5 s), and a GET sent as the server closes it is
    lost: sent again once, as a browser does."""
    try:
        return await client.get("/candidates", params={"purpose": "screening"})
    except httpx.RemoteProtocolError:
        return await client.get("/candidates", params={"purpose": "screening"})


async def run_load(base_url: str, user_id: str, password: str, config: LoadConfig) -> dict[str, Any]:
    """Sign every user in, warm up with one list each, then run the bounded load and summarise it."""
    shared = _Shared(config=config, budget=config.max_requests)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)  # one browser tab per user
    clients = [httpx.AsyncClient(base_url=base_url, timeout=config.request_timeout, limits=limits)
               for _ in range(config.users)]
    try:
        sign_in_seconds: list[float] = []

        async def timed_sign_in(client: httpx.AsyncClient) -> None:
            started = time.perf_counter()
            await sign_in(client, user_id, password)
            sign_in_seconds.append(time.perf_counter() - started)

        await asyncio.gather(*(timed_sign_in(c) for c in clients))
        # Every user sees the list once before the timing starts (as after signing in), so each
        # server process has loaded its copy of the latest run: the figures are those of a warm app.
        warm = await asyncio.gather(*(_warm(c) for c in clients))
        for answer in warm:
            if answer.status_code != 200:
                raise SignInFailed(f"candidate list after sign-in: HTTP {answer.status_code}")
        shared.learn("", warm[0].text)
        started = time.monotonic()
        await asyncio.gather(*(_user(i, c, shared, started + config.seconds) for i, c in enumerate(clients)))
        duration = time.monotonic() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    lists, pages, searches = (latency_summary(shared.latencies[k]) for k in ("candidate_list", "child_page", "search"))
    answered = sum(len(v) for v in shared.latencies.values())
    p95s = [lists["p95_ms"], pages["p95_ms"]]
    return {
        "users": config.users, "seconds": config.seconds, "max_requests": config.max_requests,
        "think_seconds": config.think_seconds, "duration_seconds": round(duration, 2),
        "requests": answered + sum(shared.errors.values()), "ok_requests": answered,
        "requests_per_second": round(answered / duration, 1) if duration else None,
        "error_count": sum(shared.errors.values()), "errors": dict(shared.errors), "error_samples": shared.samples,
        "statuses": dict(shared.statuses),
        "latency": {"candidate_list": lists, "child_page": pages, "search": searches,
                    "sign_in": latency_summary(sign_in_seconds)},
        "search_meets_target": searches["p95_ms"] is not None and searches["p95_ms"] <= TARGET_P95_MS,
        "listed_children_seen": len(shared.children), "listed_pages": shared.pages.get("", 1),
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": all(p is not None and p <= TARGET_P95_MS for p in p95s) and not shared.errors,
    }
