from __future__ import annotations

import pytest

from support.municipality import SmallTown


@pytest.fixture(scope="session")
def trained_model(small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The linkage model trained on the small town (hard cases are scored with it)."""
    import json
    import shutil

    from sqlalchemy import select

    from tsunagu.catalog.manifest import manifests_for_home
    from tsunagu.config import load_settings
    from tsunagu.link.models import LinkRun
    from tsunagu.link.run import run_linkage
    from tsunagu.store.db import create_hub_engine, session_factory
    from tsunagu.vault.topology import close_nodes, open_nodes

    home = tmp_path_factory.mktemp("model") / "home"
    shutil.copytree(small_town.home, home)
    settings = load_settings(home)
    engine = create_hub_engine(settings.hub_url)
    nodes = open_nodes(settings)
    try:
        with session_factory(engine).begin() as session:
            run_linkage(session, nodes, manifests_for_home(home))
        with session_factory(engine)() as session:
            model = json.loads(session.scalars(select(LinkRun.model_json)).one())
    finally:
        close_nodes(nodes)
        engine.dispose()
    assert isinstance(model, dict)
    return model
