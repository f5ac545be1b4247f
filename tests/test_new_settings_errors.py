"""Bad values of this release's new settings each get one line naming the file and key (exit 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import copy_toy, replace_in_file

from roi_engine.cli import main

CASES = [
    ("optimism_bias as text", "scenarios/toy.toml", "seed = 7", 'seed = 7\noptimism_bias = "yes"',
     "optimism_bias: should be true or false (got 'yes')"),
    ("uptake_by_quintile too short", "scenarios/toy.toml", 'id = "toy_programme"',
     'id = "toy_programme"\nuptake_by_quintile = [1, 2]', "uptake_by_quintile: has too few items"),
    ("uptake_by_quintile all zero", "scenarios/toy.toml", 'id = "toy_programme"',
     'id = "toy_programme"\nuptake_by_quintile = [0.0, 0.0, 0.0, 0.0, 0.0]',
     "none negative and not all zero"),
    ("risk ratio unknown", "interventions/toy_programme.toml", None,
     '\n[deprivation]\nrisk_ratio = "dep_rr_nope"\n',
     "deprivation.risk_ratio: unknown parameter 'dep_rr_nope'"),
    ("risk ratio negative", "interventions/toy_programme.toml", None, "\n[deprivation]\nrisk_ratio = -2.0\n",
     "-2 is not a risk ratio"),
    ("risk ratio boolean", "interventions/toy_programme.toml", None, "\n[deprivation]\nrisk_ratio = true\n",
     "deprivation.risk_ratio: should be a number or a parameter name in quotes (got true)"),
]


@pytest.mark.parametrize(("case", "file", "old", "new", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_one_line_naming_file_and_key(tmp_path, case, file, old, new, fragment):
    root = copy_toy(tmp_path / "toy")
    path = root / file
    if old is None:
        path.write_text(path.read_text(encoding="utf-8") + new, encoding="utf-8")
    else:
        replace_in_file(path, old, new)
    result = CliRunner().invoke(main, ["run", str(root / "scenarios" / "toy.toml"), "--draws", "50",
                                       "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, (result.output, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("roi-engine: error: "), result.stderr
    assert fragment in lines[0], lines[0]
    assert path.name in lines[0]
    assert "Traceback" not in result.output


def test_areas_names_the_successor_of_a_retired_code():
    result = CliRunner().invoke(main, ["areas", "E07000004"])
    assert result.exit_code == 2
    assert "E06000060" in result.stderr and len(result.stderr.splitlines()) == 1
