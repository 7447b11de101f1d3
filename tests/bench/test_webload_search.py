"""The web benchmark's search turn: what a user types is learned from the child pages it saw."""

from __future__ import annotations

import random

from tsunagu.bench.webload import LoadConfig, _search_request, _Shared

CHILD_PAGE = ('<h1>田中　陽葵 <span class="reading">タナカ　ヒマリ</span></h1>'
              '<dd>11歳（2015-03-18生）</dd>')


def test_before_any_child_page_a_school_is_searched() -> None:
    shared = _Shared(config=LoadConfig(), budget=10, schools=["B992901100012"])
    params = _search_request(random.Random(1), shared)
    assert params["school"] == "B992901100012" and params["q"] == ""


def test_names_readings_and_birth_dates_seen_on_child_pages_are_typed() -> None:
    shared = _Shared(config=LoadConfig(), budget=10)
    shared.learn_child(CHILD_PAGE)
    assert shared.names == [("田中　陽葵", "タナカ　ヒマリ", "2015-03-18")]
    rng = random.Random(3)
    typed = {_search_request(rng, shared)["q"] for _ in range(200)}
    assert typed == {"田中　陽葵", "タナカ　ヒマリ", "2015-03-18", "2015/03/18", "田中 2015-03-18"}
