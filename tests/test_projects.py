"""Whole projects: the tree is migrated byte for byte, the migrated project runs as an LSTM, and
a single file given alone (as pre-commit gives it) is never migrated without the others.

A project fixture is fixtures/<project>/ with project.toml, input/, expected/ (but for an engine
bug) and driver.py:

    outcome = "migrated"     # expected/ is the tool's output on input/
    outcome = "refused"      # the tool leaves input/ as it is (expected/ is the same) and reports
    refusal = "G2L101 ..."   #   this text in a finding
    outcome = "engine_bug"   # the tool's output is wrong (a known engine bug): no expected/ yet
    changes = ["a.py", ...]  # with "refused" and "engine_bug": the files a correct migration changes

driver.py has `drive(root) -> {"losses": [float], "stored": [state], "hidden_size": int}`: it puts
the project tree at `root` on sys.path as the project is run, imports the project's own code, runs
its loop for a few acting steps with episode resets and one training update or more, and returns
the losses and the hidden states as the project's storage holds them.
"""

from __future__ import annotations

import filecmp
import importlib.util
import math
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from gru2lstm.cli import main
from gru2lstm.prefilter import may_hold_gru

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROJECTS = sorted(p.parent for p in FIXTURES.glob("*/project.toml"))


def config(project: Path) -> dict:
    return tomllib.loads((project / "project.toml").read_text(encoding="utf-8"))


def tree(folder: Path) -> list:
    """Every file of a tree, relative to it."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def needs_change(project: Path) -> list:
    """The files a correct migration of the whole project changes: those that expected/ changes,
    or, where the tool does not produce it yet, as project.toml says."""
    if "changes" in config(project):
        return [Path(name) for name in config(project)["changes"]]
    return changed_files(project)


def changed_files(project: Path) -> list:
    """The files expected/ changes (input/ against expected/)."""
    return [name for name in tree(project / "input") if not filecmp.cmp(project / "input" / name, project / "expected" / name, shallow=False)]


def project_ids(projects):
    return [p.name for p in projects]


MIGRATED = [p for p in PROJECTS if config(p)["outcome"] == "migrated"]
REFUSED = [p for p in PROJECTS if config(p)["outcome"] == "refused"]
GOLDEN = MIGRATED + REFUSED
ALONE = [(p, name) for p in PROJECTS for name in needs_change(p)]


def test_every_project_has_a_known_outcome():
    assert len(PROJECTS) >= 10
    assert MIGRATED and REFUSED
    assert all(config(p)["outcome"] in ("migrated", "refused", "engine_bug") for p in PROJECTS)
    assert all((p / "expected").is_dir() == (p in GOLDEN) for p in PROJECTS)
    assert all(("changes" in config(p)) == (p not in MIGRATED) for p in PROJECTS)
    assert all("refusal" in config(p) for p in REFUSED)


@pytest.mark.parametrize("project", GOLDEN, ids=project_ids(GOLDEN))
def test_the_tree_rewrite_is_byte_exact(project, tmp_path, capsys):
    root = tmp_path / project.name
    shutil.copytree(project / "input", root)
    code = main(["rewrite", "--quiet", str(root)])
    out = capsys.readouterr().out
    assert tree(root) == tree(project / "expected")
    for name in tree(root):
        assert (root / name).read_bytes() == (project / "expected" / name).read_bytes(), name
    if config(project)["outcome"] == "migrated":
        assert code == 0, out
        assert len(changed_files(project)) >= 2
    else:
        assert code == 1
        assert changed_files(project) == []
        assert config(project)["refusal"] in out, out


@pytest.fixture
def recorded_calls(monkeypatch) -> list:
    """Wraps the forward of every torch recurrent module: each call appends (class name, hx)."""
    calls = []
    for cls in (torch.nn.GRU, torch.nn.GRUCell, torch.nn.LSTM, torch.nn.LSTMCell):
        def forward(self, input, hx=None, _original=cls.forward):
            calls.append((type(self).__name__, hx))
            return _original(self, input, hx)

        monkeypatch.setattr(cls, "forward", forward)
    return calls


def drive(project: Path, root: Path) -> dict:
    """The project's driver run on the tree at `root`; what it imported from there is forgotten
    afterwards, so that input/ and expected/ (which share module names) never mix."""
    spec = importlib.util.spec_from_file_location(f"driver_{project.name}", project / "driver.py")
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    path, modules = list(sys.path), set(sys.modules)
    torch.manual_seed(0)
    np.random.seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return driver.drive(root)
    finally:
        torch.set_num_threads(threads)
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            if loaded_from(sys.modules[name], root):
                del sys.modules[name]


def loaded_from(module, root: Path) -> bool:
    """Whether a module (or a namespace package) was found under `root`."""
    places = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
    return any(place and Path(place).resolve().is_relative_to(root.resolve()) for place in places)


def halves(state, hidden_size: int) -> int:
    """How many halves a stored state holds: 2 for a pair (h, c) or a tensor packed to 2 * H along
    its last dimension, 1 for a GRU state of size H."""
    if isinstance(state, tuple):
        assert len(state) == 2 and state[0].shape == state[1].shape, [tuple(s.shape) for s in state]
        assert state[0].shape[-1] == hidden_size
        return 2
    size = state.shape[-1]
    assert size in (hidden_size, 2 * hidden_size), (tuple(state.shape), hidden_size)
    return size // hidden_size


def assert_trains(result: dict) -> None:
    assert result["losses"], "no training update ran"
    assert all(math.isfinite(loss) for loss in result["losses"]), result["losses"]


@pytest.mark.parametrize("project", PROJECTS, ids=project_ids(PROJECTS))
def test_the_original_project_runs_with_its_gru(project, recorded_calls):
    result = drive(project, project / "input")
    assert_trains(result)
    kinds = {kind for kind, _ in recorded_calls}
    assert kinds and kinds <= {"GRU", "GRUCell"}, kinds
    assert any(isinstance(hx, torch.Tensor) and hx.abs().sum() > 0 for _, hx in recorded_calls)
    assert result["stored"] and all(halves(s, result["hidden_size"]) == 1 for s in result["stored"])


def assert_runs_as_an_lstm(project: Path, root: Path, recorded_calls: list) -> None:
    result = drive(project, root)
    assert_trains(result)
    kinds = {kind for kind, _ in recorded_calls}
    assert kinds and kinds <= {"LSTM", "LSTMCell"}, kinds
    for _, hx in recorded_calls:
        assert hx is None or (isinstance(hx, tuple) and len(hx) == 2 and hx[0].shape == hx[1].shape), hx
    # c is carried from step to step: after the first step the LSTM is given a c that is not blank
    assert any(hx is not None and hx[1].abs().sum() > 0 for _, hx in recorded_calls)
    # ... and is c, not h taken twice (a real c never has h's numbers)
    assert not any(hx is not None and hx[1].abs().sum() > 0 and torch.equal(hx[0], hx[1]) for _, hx in recorded_calls)
    assert result["stored"] and all(halves(s, result["hidden_size"]) == 2 for s in result["stored"])


@pytest.mark.parametrize("project", MIGRATED, ids=project_ids(MIGRATED))
def test_the_migrated_project_runs_with_an_lstm_that_gets_its_c(project, recorded_calls):
    assert_runs_as_an_lstm(project, project / "expected", recorded_calls)


@pytest.mark.parametrize("project", PROJECTS, ids=project_ids(PROJECTS))
def test_a_rewrite_that_succeeds_never_breaks_the_project(project, tmp_path, recorded_calls):
    """Soundness, whatever the outcome: exit 0 means the project runs as an LSTM; any other exit
    leaves every file as it was."""
    root = tmp_path / project.name
    shutil.copytree(project / "input", root)
    if main(["rewrite", "--quiet", str(root)]) == 0:
        assert_runs_as_an_lstm(project, root, recorded_calls)
    else:
        assert all((root / name).read_bytes() == (project / "input" / name).read_bytes() for name in tree(root))


@pytest.mark.parametrize("project,given", ALONE, ids=[f"{p.name}-{name.as_posix()}" for p, name in ALONE])
def test_one_file_given_alone_is_not_migrated_without_the_others(project, given, tmp_path, monkeypatch, capsys):
    root = tmp_path / project.name
    shutil.copytree(project / "input", root)
    monkeypatch.chdir(root)
    code = main(["rewrite", given.as_posix()])
    out = capsys.readouterr().out
    for name in tree(root):
        assert (root / name).read_bytes() == (project / "input" / name).read_bytes(), f"{name} was written"
    if not may_hold_gru((project / "input" / given).read_bytes()):
        return  # a file without a GRU has nothing to migrate alone; that nothing was written is the point
    others = [name.as_posix() for name in tree(root) if name != given]
    assert code == 1, out
    # A finding names another file of the project (the importer that calls what changes, or where
    # the state goes); the rest of the chain is found once that file is given too.
    assert any(f" {name} " in out or f"{name}," in out or f"{name}:" in out for name in others), out
