"""GET /api/children/{person_id}?purpose=…: one child's linked picture; the purpose is required."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tsunagu.web.deps import CurrentSubject, State, check_purpose
from tsunagu.web.errors import API_ERRORS
from tsunagu.work.child import ChildView, open_child

router = APIRouter(prefix="/api", tags=["こども詳細"], responses=API_ERRORS)


@router.get("/children/{person_id}", response_model=ChildView, summary="こども詳細（利用目的の指定が必須）")
def api_child(
    state: State, subject: CurrentSubject, person_id: str,
    purpose: Annotated[str, Query(description="利用目的（アクセス記録に残ります）")],
) -> ChildView:
    check_purpose(state, purpose)
    with state.reading() as session:
        return open_child(session, subject, purpose, person_id, nodes=state.nodes(), manifests=state.manifests(),
                          cipher=state.cipher, key=state.key)
