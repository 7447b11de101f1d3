"""What every export builder needs: the world, its randomness, and the noise ledger."""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.highschool import HighSchools
from tsunagu.synth.needs import Needs
from tsunagu.synth.population import Population
from tsunagu.synth.profile import Profile
from tsunagu.synth.schools import SchoolNetwork

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent stream per component, so changing one export never reshuffles another."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])))


@dataclass
class Ledger:
    """Realised noise: per (source, kind) the rows affected and the rows eligible."""

    counts: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, source: str, kind: str, affected: int, eligible: int) -> None:
        entry = self.counts[(source, kind)]
        entry[0] += int(affected)
        entry[1] += int(eligible)


@dataclass
class Context:
    profile: Profile
    seed: int
    pop: Population
    schools: SchoolNetwork
    needs: Needs
    high_schools: HighSchools
    ledger: Ledger = field(default_factory=Ledger)
    # True values some exports draw (before noise), kept for the truth files (truth/programmes.csv).
    facts: dict[str, Any] = field(default_factory=dict)

    def rng(self, name: str) -> np.random.Generator:
        return rng_for(self.seed, name)

    def rate(self, source: str, kind: str) -> float:
        return self.profile.noise.rate(source, kind)

    def draw(self, source: str, kind: str, eligible: BoolArr, rng: np.random.Generator) -> BoolArr:
        """Pick the affected rows among ``eligible`` at the profile's rate and record the counts."""
        rate = self.rate(source, kind)
        hit = eligible & (rng.random(len(eligible)) < rate)
        self.ledger.add(source, kind, int(hit.sum()), int(eligible.sum()))
        return hit
