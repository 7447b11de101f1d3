"""Profiles load strictly: every built-in one validates, mistakes name their file and line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tsunagu.synth import SOURCES, builtin_profiles, load_profile
from tsunagu.synth.profile import NOISE_KINDS
from tsunagu.yamlstrict import ConfigError


def test_builtin_profiles_load() -> None:
    assert set(builtin_profiles()) >= {"default", "noisy", "small-town"}
    default = load_profile("default")
    assert default.name == "default"
    assert str(default.export_date) == "2026-10-31"
    assert default.noise.style("juki_jumin") == "kanji"
    assert default.noise.style("jisou") == "abbrev"
    assert set(default.noise.date_styles) == set(SOURCES)


def test_variants_change_what_they_say_they_change() -> None:
    default, noisy, small = load_profile("default"), load_profile("noisy"), load_profile("small-town")
    for kind in NOISE_KINDS:
        assert noisy.noise.defaults.model_dump()[kind] >= default.noise.defaults.model_dump()[kind], kind
    assert noisy.noise.rate("juki_jumin", "kana_typo") == 0.0  # the registry stays the registry
    assert noisy.economy == default.economy
    assert small.households.foreign_national_rate < default.households.foreign_national_rate
    assert small.households.three_generation_rate > default.households.three_generation_rate
    assert small.schools.pupils_per_elementary < default.schools.pupils_per_elementary
    assert small.municipality.children_per_town < default.municipality.children_per_town


def test_profile_by_path_with_extends(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("extends: default\nname: mine\nneeds:\n  abuse_rate: 0.03\n", encoding="utf-8")
    profile = load_profile(path)
    assert profile.name == "mine"
    assert profile.needs.abuse_rate == 0.03
    assert profile.needs.neglect_rate == load_profile("default").needs.neglect_rate


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    text = (resources.files("tsunagu.synth") / "profiles" / "default.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("needs:"))
    lines.insert(at + 1, "  abuse_rat: 0.02")
    path = tmp_path / "typo.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert caught.value.line == at + 2
    assert caught.value.path == str(path)
    assert "abuse_rat" in str(caught.value)


def test_unknown_key_in_an_extending_profile(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "extends: default\nname: bad\nnoise:\n  sources:\n    juki_jumin: {kana_typos: 0.1}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert caught.value.line == 5
    assert "kana_typos" in str(caught.value)


def test_out_of_range_rate_and_unknown_source_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "rate.yaml"
    path.write_text("extends: default\nname: rate\neconomy:\n  poverty_rate: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert caught.value.line == 4
    path.write_text("extends: default\nname: src\nnoise:\n  date_styles:\n    zeimu: iso\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown source zeimu") as caught:
        load_profile(path)
    assert "zeimu_kazei" in str(caught.value)  # the error lists the catalogue's sources


def test_unknown_builtin_profile() -> None:
    with pytest.raises(ConfigError, match="default"):
        load_profile("no-such-profile")
