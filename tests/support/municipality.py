"""A small synthetic municipality, ingested, for tests that need the whole pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from support.hubs import new_home
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.config import Settings
from tsunagu.ingest.load import Ingestor
from tsunagu.municipality import Municipality
from tsunagu.synth import generate


@dataclass(frozen=True)
class SmallTown:
    home: Path
    truth: Path
    exports: Path
    settings: Settings


def build_small_town(root: Path, children: int = 1500, seed: int = 7, *, scope: str = "session") -> SmallTown:
    out = root / "synthetic"
    generate(children, seed, "default", out)
    home = root / "home"
    settings = new_home(home, Municipality("272205", "つなぐ市"), scope=scope)
    ingestor = Ingestor(packaged_manifests(), settings.vault_dir, settings.hub_url)
    try:
        ingestor.ingest([out / "exports"])
    finally:
        ingestor.close()
    return SmallTown(home, out / "truth", out / "exports", settings)
