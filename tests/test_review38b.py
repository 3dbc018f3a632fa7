"""Issue 13, session 38 (review3): the factories of a fresh tensor of left13 probed for silent
breaks (repros in /work/scratch/review3/cases/). A call of such a factory that does not write its
sizes out (`fresh(dim=8, n=3)`, `fresh(3)` of a default size) was followed into the factory, so the
factory's own creation was paired or widened, and its other calls, made for a mask, got the pair
too (tuple: exit 123) or a doubled mask (packed: exit 0, another computation)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_left13 import FACTORY, FORMS, _refused
from tests.test_redteam_packed import run_migrated, write


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("defined, state_call, mask_call", [
    ("def fresh(n, dim):", "fresh(dim=8, n=3)", "fresh(3, 8)"),
    ("def fresh(n, dim):", "fresh(3, dim=8)", "fresh(3, 8)"),
    ("def fresh(n, dim=8):", "fresh(3)", "fresh(3, 8)"),
    ("def fresh(n, dim):", "fresh(n=3, dim=8)", "fresh(n=3, dim=8)"),
], ids=["keywords", "size-by-keyword", "size-by-default", "all-by-keywords"])
def test_a_factory_call_for_the_state_that_does_not_write_its_sizes_out_in_order_changes_only_that_call(tmp_path, capsys, form, defined, state_call, mask_call):
    # before: tuple exit 123 (the mask given the pair) or exit 0 with the mask paired; packed exit 0
    # with the mask doubled (`torch.zeros(n, 2 * dim)` in the factory), the driver's check failed.
    # Session 38 refused the state call (G2L101); since session 39 (tests/test_factory39.py) the
    # call is paired where it is, and widened by the argument that gives the hidden size, or, packed,
    # refused (G2L100) when the call does not give it
    source = FACTORY.format(extra="", keywords="", given="").replace("def fresh(n, dim):", defined)
    source = source.replace("h = fresh(3, 8)\n", f"h = {state_call}\n").replace("mask = fresh(3, 8)\n", f"mask = {mask_call}\n")
    if form == "packed" and state_call == "fresh(3)":
        first = _refused(tmp_path, capsys, form, {"agent.py": source}, "21:5: G2L100 ")
        assert f"`{state_call}` makes the hidden state, but no argument of this call gives its last size alone" in first
        return
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert f"\nmask = {mask_call}\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("form", FORMS)
def test_a_factory_whose_calls_all_make_the_state_by_keywords_migrates_and_runs(tmp_path, form):
    source = FACTORY.format(extra="", keywords="", given="").replace("h = fresh(3, 8)\n", "h = fresh(n=3, dim=8)\n")
    source = source.replace("mask = fresh(3, 8)\n", "mask = torch.zeros(3, 8)\n")
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("form", FORMS)
def test_a_factory_called_with_an_extra_size_for_a_buffer_leaves_the_buffer(tmp_path, form):
    # `fresh(3, 8, 2)` gives a layer count the state call leaves to its default: the buffer call
    # stays as it is (tuple: it was paired beside the state, exit 0)
    source = FACTORY.format(extra=", layers=1", keywords="", given="").replace("torch.zeros(n, dim)", "torch.zeros(layers, n, dim)")
    source = source.replace("h = fresh(3, 8)\n", "h = fresh(3, 8)[0]\n").replace("mask = fresh(3, 8)\n", "mask = fresh(3, 8, 2)\n")
    source = source.replace("mask.shape == (3, 8)", "mask.shape == (2, 3, 8)")
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "mask = fresh(3, 8, 2)\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")
