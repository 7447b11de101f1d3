from __future__ import annotations

import pytest

from support.hubs import copy_home
from support.municipality import SmallTown


@pytest.fixture(scope="session")
def trained_model(small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The linkage model trained on the small town (hard cases are scored with it)."""
    import json

    from sqlalchemy import select

    from support.hubs import hub_of
    from tsunagu.link.models import LinkRun
    from tsunagu.link.run import run_linkage

    home = tmp_path_factory.mktemp("model") / "home"
    copy_home(small_town.home, home, scope="session")
    with hub_of(home) as hub:
        with hub.sessions.begin() as session:
            run_linkage(session, hub.nodes(), hub.manifests)
        with hub.sessions() as session:
            model = json.loads(session.scalars(select(LinkRun.model_json)).one())
    assert isinstance(model, dict)
    return model
