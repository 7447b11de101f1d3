"""The linkage on a whole synthetic municipality: quality against truth, stable ids, human decisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.link.evaluate import evaluate_linkage
from tsunagu.link.models import ClericalPair, LinkDecision, LinkRun, PersonLink
from tsunagu.link.review import decide, open_pairs
from tsunagu.link.run import LinkReport, run_linkage


def _copy(town: SmallTown, target: Path, *, scope: str = "test") -> Path:
    return copy_home(town.home, target, scope=scope)


def _link(home: Path, incremental: bool = False) -> LinkReport:
    with hub_of(home) as hub, hub.sessions.begin() as session:
        return run_linkage(session, hub.nodes(), hub.manifests, incremental=incremental)


def _links(home: Path) -> dict[tuple[str, str], str]:
    with hub_of(home) as hub, hub.sessions() as session:
        rows = session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)).all()
    return {(s, lid): pid for s, lid, pid in rows}


@pytest.fixture(scope="module")
def linked(small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LinkReport]:
    home = _copy(small_town, tmp_path_factory.mktemp("linked") / "home", scope="session")
    return home, _link(home)


def test_linkage_meets_the_quality_targets_on_the_small_town(linked: tuple[Path, LinkReport], small_town: SmallTown) -> None:
    home, report = linked
    assert report.probabilistic_links > 500
    assert all(c["comparisons"] < 5_000_000 for c in report.block_counts)
    with hub_of(home) as hub, hub.sessions() as session:
        quality = evaluate_linkage(session, small_town.truth)
        run = session.scalars(select(LinkRun)).one()
    assert quality["problems"] == []
    assert quality["precision"] >= 0.995
    assert quality["recall"] >= 0.98
    assert quality["cluster"]["precision"] >= 0.999
    assert quality["review_band_share"] <= 0.01
    assert set(quality) >= {"precision", "recall", "f1", "review_band_share", "by_group"}
    assert any(key.startswith("surname_changed=") for key in quality["by_group"])
    # the model the run used is stored with it, as JSON with trained parameters
    assert '"m_probability"' in run.model_json and run.model_version


def test_person_ids_are_stable_across_runs(linked: tuple[Path, LinkReport], tmp_path: Path) -> None:
    home = _copy_linked(linked[0], tmp_path)
    before = _links(home)
    report = _link(home)
    after = _links(home)
    assert report.created == 0 and report.merged == 0 and report.split == 0
    assert before == after
    # the first run wrote the records with 宛名番号 while Splink scored; a later run writes in one pass
    assert "write_keyed" in linked[1].stage_seconds and "write_keyed" not in report.stage_seconds
    # nothing changed, so nothing is rewritten
    assert report.links_written == {"deleted": 0, "updated": 0, "inserted": 0}


def test_human_decisions_are_respected_by_later_runs(linked: tuple[Path, LinkReport], tmp_path: Path) -> None:
    home = _copy_linked(linked[0], tmp_path)
    links = _links(home)
    # a person says an automatic link was wrong: the next run must keep the records apart
    school_key = next(k for k, pid in links.items() if k[0] == "school_meibo")
    spine_key = next(k for k, pid in links.items() if k[0] == "juki_jumin" and pid == links[school_key])
    with hub_of(home) as hub:
        with hub.sessions.begin() as session:
            session.add(ClericalPair(run_id="test", left_key=f"juki_jumin:{spine_key[1]}",
                                     right_key=f"school_meibo:{school_key[1]}",
                                     match_probability=0.9, comparison_json="{}", status="open"))
        with hub.sessions.begin() as session:
            pair = next(p for p in open_pairs(session) if p.right_key == f"school_meibo:{school_key[1]}")
            decide(session, pair.id, "non_match", "tester", "別人と確認（保護者に確認）")
    _link(home)
    after = _links(home)
    assert after[school_key] != after[spine_key]
    with hub_of(home) as hub, hub.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LinkDecision)) == 1


def test_incremental_run_links_only_new_records_with_the_saved_model(linked: tuple[Path, LinkReport],
                                                                      tmp_path: Path) -> None:
    home = _copy_linked(linked[0], tmp_path)
    report = _link(home, incremental=True)
    assert report.mode == "incremental"
    assert report.created == 0
    assert _links(home) == _links(linked[0])
    assert report.links_written["inserted"] == report.links_written["deleted"] == 0


def _copy_linked(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    copy_home(home, target)
    return target


