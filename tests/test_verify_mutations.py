"""The harness is tested by mutation: every golden expected.py passes every default check, and
every broken migration in tests/mutations/<fixture>.toml is caught by the check(s) it names.

A catalog entry is a list of textual patches on fixtures/<fixture>/expected.py; each `old` must
occur exactly once. The table in docs/verify.md (and the README) lists mutation -> check.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

pytest.importorskip("torch")

from conftest import model_file
from gru2lstm.verify import load_config, run
from gru2lstm.verify.results import DEFAULT_CHECKS

ROOT = Path(__file__).resolve().parent.parent
MUTATIONS = ROOT / "tests" / "mutations"
FIXTURES = ROOT / "fixtures"


def fixture_folder(name: str) -> Path:
    """fixtures/<name>, or the harness's own tests/mutations/<name>."""
    folder = FIXTURES / name
    return folder if (folder / "expected.py").exists() else MUTATIONS / name


def goldens() -> list:
    """Every fixture with a verify.toml: pairs (input.py, expected.py) and trees (input/, expected/)."""
    folders = [p.parent for p in FIXTURES.glob("*/verify.toml")] + [p.parent for p in MUTATIONS.glob("*/verify.toml")]
    return sorted((f for f in folders if model_file(f, "expected").exists() and model_file(f, "input").exists()), key=lambda f: f.name)


def catalog(path: Path) -> list:
    return tomllib.loads(path.read_text(encoding="utf-8"))["mutation"]


def all_mutations() -> list:
    params = []
    for path in sorted(MUTATIONS.glob("*.toml")):
        for mutation in catalog(path):
            params.append(pytest.param(path.stem, mutation, id=f"{path.stem}:{mutation['id']}"))
    return params


def apply(text: str, mutation: dict) -> str:
    for patch in mutation["patch"]:
        count = text.count(patch["old"])
        assert count == 1, f"{mutation['id']}: the patch's old text occurs {count} times, expected exactly once:\n{patch['old']}"
        text = text.replace(patch["old"], patch["new"])
    return text


def verify(folder: Path, rewritten: Path):
    config = load_config(rewritten, {"original": str(model_file(folder, "input"))}, folder / "verify.toml")
    return run(rewritten, config)


@pytest.mark.parametrize("folder", goldens(), ids=lambda f: f.name)
def test_every_golden_expected_passes_every_default_check(folder):
    report = verify(folder, model_file(folder, "expected"))
    assert report.usage_error is None, report.usage_error
    assert [c.name for c in report.checks] == list(DEFAULT_CHECKS)
    failed = {c.name: c.reason for c in report.checks if not c.passed}
    assert not failed, failed


@pytest.mark.parametrize("fixture, mutation", all_mutations())
def test_each_mutation_is_caught_by_the_check_it_names(fixture, mutation, tmp_path):
    folder = fixture_folder(fixture)
    expected = (folder / "expected.py").read_text(encoding="utf-8")
    broken = apply(expected, mutation)
    assert broken != expected
    path = tmp_path / "expected.py"
    path.write_text(broken, encoding="utf-8")
    report = verify(folder, path)
    assert report.usage_error is None, report.usage_error
    failed = report.failed_checks
    assert failed, f"{mutation['id']} slipped through every check"
    missing = set(mutation["caught_by"]) - set(failed)
    assert not missing, f"{mutation['id']}: {sorted(missing)} passed; failed: {failed}; " + "; ".join(
        f"{c.name}: {c.reason}" for c in report.checks
    )
    assert report.exit_code == 1


def test_the_catalog_is_large_and_well_formed():
    entries = [m for path in MUTATIONS.glob("*.toml") for m in catalog(path)]
    assert len(entries) >= 12
    ids = [m["id"] for m in entries]
    assert len(ids) == len(set(ids))
    for mutation in entries:
        assert mutation["title"] and mutation["patch"]
        assert set(mutation["caught_by"]) <= set(DEFAULT_CHECKS)
