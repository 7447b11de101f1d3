"""The synthetic population follows the law where an export's meaning depends on it."""

from __future__ import annotations

import numpy as np

from tsunagu.synth.population import certification_in_force


def test_care_certification_in_force_is_the_latest_renewal_within_48_months() -> None:
    export_day = 20_000
    first = np.array([export_day - 30, export_day - 364, export_day - 365, export_day - 365 - 1095,
                      export_day - 365 - 1096, export_day - 6 * 365], dtype=np.int64)
    in_force = certification_in_force(first, export_day)
    # a first certification under a year old is still the one in force; later ones were renewed
    assert in_force.tolist()[:2] == first.tolist()[:2]
    assert in_force[2] == export_day
    assert in_force[3] == first[3] + 365
    assert in_force[4] == export_day
    age = export_day - in_force
    assert (age >= 0).all() and (age < 48 * 30).all()
    assert (in_force >= first).all()
