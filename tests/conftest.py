import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def golden_pairs():
    """Every fixtures/<style>/ folder with an input.py and an expected.py."""
    return sorted(p.parent for p in FIXTURES.glob("*/expected.py") if (p.parent / "input.py").exists())


def golden_trees():
    """Every fixtures/<style>/ folder with an input/ and an expected/ folder (files that share states),
    but project fixtures the tool refuses (their expected/ is input/; see test_projects.py)."""
    return sorted(
        p.parent
        for p in FIXTURES.glob("*/expected")
        if p.is_dir() and (p.parent / "input").is_dir() and not refused(p.parent)
    )


def refused(folder: Path) -> bool:
    project = folder / "project.toml"
    return project.exists() and tomllib.loads(project.read_text(encoding="utf-8"))["outcome"] == "refused"


def tree_files(folder: Path) -> list:
    """The .py files of a tree fixture, relative to its input/ (and expected/) folder."""
    return sorted(p.relative_to(folder / "input") for p in (folder / "input").rglob("*.py"))


def model_file(folder: Path, side: str) -> Path:
    """The file holding the model of a fixture, on side "input" or "expected": `<side>.py`, or in a
    tree fixture the file of `<side>/` that defines verify.toml's class."""
    if not (folder / side).is_dir():
        return folder / f"{side}.py"
    config = tomllib.loads((folder / "verify.toml").read_text(encoding="utf-8"))
    definition = re.compile(rf"^class {re.escape(config['class'])}\b", re.MULTILINE)
    found = [p for p in sorted((folder / side).rglob("*.py")) if definition.search(p.read_text(encoding="utf-8"))]
    assert len(found) == 1, f"{folder / side}: class {config['class']} is defined in {len(found)} files"
    return found[0]


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
