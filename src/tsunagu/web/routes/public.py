"""The public, read-only directory of support services: no sign-in, no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tsunagu.web.deps import State, render
from tsunagu.work.resources import CATEGORIES, list_resources

router = APIRouter(include_in_schema=False)


@router.get("/public/resources")
def public_resources(request: Request, state: State, category: str = "") -> Response:
    with state.read_factory() as session:
        rows = list_resources(session, public_only=True, category=category or None)
    return render(request, state, "public_resources.html", resources=rows, categories=CATEGORIES, category=category)
