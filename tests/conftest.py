from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def golden_pairs():
    """Every fixtures/<style>/ folder with an input.py and an expected.py."""
    return sorted(p.parent for p in FIXTURES.glob("*/expected.py") if (p.parent / "input.py").exists())


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
