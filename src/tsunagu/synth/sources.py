"""The sources the generator writes, each with its writer, in the order it writes them.

The one list of the synthetic sources: the catalogue's packaged manifests name the same sources
(``tests/catalog/test_vocabulary.py``), and a profile's per-source settings are checked against the
catalogue (``synth.profile``).
"""

from __future__ import annotations

from collections.abc import Callable

from tsunagu.synth.context import Context
from tsunagu.synth.exports import childwelfare, education, health, highschool, registry, school, welfare
from tsunagu.synth.table import Table

Builder = Callable[[Context], "Table | list[Table]"]

BUILDERS: dict[str, Builder] = {
    "juki_jumin": registry.juki_jumin,
    "juki_idou": registry.juki_idou,
    "zeimu_kazei": registry.zeimu_kazei,
    "seiho_jukyu": welfare.seiho_jukyu,
    "jifu_teate": welfare.jifu_teate,
    "jidou_teate": welfare.jidou_teate,
    "shogai": welfare.shogai,
    "kaigo": welfare.kaigo,
    "boshi_hoken": health.boshi_hoken,
    "yobou_sesshu": health.yobou_sesshu,
    "hoiku": health.hoiku,
    "gakureibo": education.gakureibo,
    "shugaku_enjo": education.shugaku_enjo,
    "school_meibo": school.school_meibo,
    "school_kiroku": school.school_kiroku,
    "school_chosa": school.school_chosa,
    "kokoro_tenki": school.kokoro_tenki,
    "kodomo_center": childwelfare.kodomo_center,
    "jisou": childwelfare.jisou,
    "koko_zaiseki": highschool.koko_zaiseki,
    "koko_shusseki": highschool.koko_shusseki,
}

SOURCES: tuple[str, ...] = tuple(BUILDERS)
