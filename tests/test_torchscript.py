"""Code that TorchScript compiles (rules/torchscript.py), proven with torch: the migrated module is
compiled by TorchScript, runs a few steps, and its LSTM cell carries a c that is not blank (tuple
form: the pair it gives back; packed form: the second half of the packed state). What the engine
cannot type is refused with a finding that names it."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from gru2lstm.cli import main
from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from test_rules import HEADER

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")  # torch 2.x deprecates TorchScript, still supported

H = 8
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "scripted_world_model"

SCRIPTED = """
from torch import jit


class Core(jit.ScriptModule):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)
        self.head = Head()

    @jit.script_method
    def forward(self, x, h):
        h = self.cell(x, h)
        return self.head(torch.relu(h)), h


class Head(jit.ScriptModule):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    @jit.script_method
    def forward(self, features):
        return self.fc(features)


def run(steps):
    core = Core()
    h = torch.zeros(1, 8)
    for _ in range(steps):
        y, h = core(torch.randn(1, 4), h)
    return core, h
"""

# torch.jit.script of an nn.Module: its forward(), the method it calls and the submodule's forward() are compiled.
SCRIPTED_BY_CALL = """
class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)
        self.head = Head()

    def forward(self, x, h):
        h = self.step(x, h)
        return self.head(h), h

    def step(self, x, h):
        return self.cell(x, h)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, features):
        return self.fc(features)


def run(steps):
    policy = torch.jit.script(Policy())
    h = torch.zeros(1, 8)
    for _ in range(steps):
        y, h = policy(torch.randn(1, 4), h)
    return policy, h
"""

# torch.jit.script of a module the walk cannot identify (a parameter): any module's forward() may be compiled.
SCRIPTED_UNKNOWN = """
class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)

    def forward(self, x, h):
        return self.cell(x, h)


def export(policy):
    return torch.jit.script(policy)


def run(steps):
    policy = export(Policy())
    h = torch.zeros(2, 8)
    for _ in range(steps):
        h = policy(torch.randn(2, 4), h)
    return policy, h
"""

# Compiled through a submodule's method (`self.inner.advance`) and a function of the program it calls.
NESTED = """
def reset(h, done):
    return h * (1.0 - done).unsqueeze(1)


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)

    def advance(self, x, h, done):
        h = reset(h, done)
        return self.cell(x, h)


class Core(torch.jit.ScriptModule):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
        self.cell = self.inner.cell

    @torch.jit.script_method
    def forward(self, x, h, done):
        return self.inner.advance(x, h, done)


def run(steps):
    core = Core()
    h = torch.zeros(2, 8)
    for step in range(steps):
        h = core(torch.randn(2, 4), h, torch.tensor([0.0, float(step == 1)]))
    return core, h
"""

# Lists of states made inside the compiled function: `[]` and `[torch.empty(0)] * T`.
LISTS = """
from typing import Tuple

from torch import jit


class Rollout(jit.ScriptModule):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)

    @jit.script_method
    def forward(self, xs: torch.Tensor, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        T = xs.size(0)
        kept = []
        beliefs = [torch.empty(0)] * (T + 1)
        beliefs[0] = h
        for t in range(T):
            beliefs[t + 1] = self.cell(xs[t], beliefs[t])
            kept.append(beliefs[t + 1])
        return torch.stack(beliefs[1:]), torch.stack(kept)


def run(steps):
    rollout = Rollout()
    h = torch.zeros(1, 8)
    for _ in range(steps):
        beliefs, kept = rollout(torch.randn(3, 1, 4), h)
        h = beliefs[-1]
    return rollout, h
"""


def migrated(source: str, form: str = "tuple"):
    migration = migrate_source(HEADER + textwrap.dedent(source), Options(state=form))
    assert not [finding for finding in migration.findings if finding.blocks_write], migration.findings
    return migration.source


def load(path: Path):
    """Imports a file as a module of its own (TorchScript reads the source of what it compiles)."""
    spec = importlib.util.spec_from_file_location(f"scripted_{path.stem}_{id(path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_file(source: str, tmp_path: Path, name: str, steps: int = 3):
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return load(path).run(steps)


def cell_of(module) -> str:
    """The class of the recurrent cell a (compiled) module holds."""
    cell = getattr(module, "cell")
    return getattr(cell, "original_name", type(cell).__name__)


def assert_carries_c(state, form: str) -> None:
    if form == "tuple":
        assert isinstance(state, tuple) and len(state) == 2 and state[0].shape == state[1].shape
        c = state[1]
    else:
        assert isinstance(state, torch.Tensor) and state.shape[-1] == 2 * H, state.shape
        c = state[..., H:]
    assert c.abs().sum() > 0


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("name, source", [("decorated", SCRIPTED), ("by_call", SCRIPTED_BY_CALL), ("unknown", SCRIPTED_UNKNOWN), ("nested", NESTED), ("lists", LISTS)], ids=["decorated", "by_call", "unknown", "nested", "lists"])
def test_the_migrated_module_compiles_and_carries_c(name, source, form, tmp_path):
    module, state = run_file(migrated(source, form), tmp_path, f"{name}_{form}")
    assert cell_of(module) == "LSTMCell"
    assert isinstance(module, torch.jit.ScriptModule)
    assert_carries_c(state, form)


def test_the_original_modules_compile_with_their_gru(tmp_path):
    for name, source in (("decorated", SCRIPTED), ("by_call", SCRIPTED_BY_CALL), ("unknown", SCRIPTED_UNKNOWN), ("nested", NESTED), ("lists", LISTS)):
        module, state = run_file(HEADER + textwrap.dedent(source), tmp_path, name)
        assert cell_of(module) == "GRUCell" and state.shape[-1] == H


def test_tuple_form_annotates_each_parameter_that_holds_the_pair():
    source = migrated(SCRIPTED_BY_CALL)
    assert "def forward(self, x, h: tuple[torch.Tensor, torch.Tensor]):" in source
    assert "def step(self, x, h: tuple[torch.Tensor, torch.Tensor]):" in source
    # the head only reads its parameter as features: read at the call, the head left as it is
    assert "def forward(self, features):" in source and "return self.head(h[0]), h" in source


def test_tuple_form_makes_the_lists_of_pairs_as_torchscript_types_them():
    source = migrated(LISTS)
    assert "kept = torch.jit.annotate(list[tuple[torch.Tensor, torch.Tensor]], [])" in source
    assert "beliefs = [(torch.empty(0), torch.empty(0))] * (T + 1)" in source
    assert "-> Tuple[Tuple[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]]:" in source


def test_packed_form_hands_the_lstm_a_tuple_of_the_halves():
    source = migrated(SCRIPTED, "packed")
    assert "h = torch.cat(self.cell(x, (h.chunk(2, dim=-1)[0], h.chunk(2, dim=-1)[1])), dim=-1)" in source
    assert "Tuple" not in source  # no type changes: the state stays one Tensor


def test_a_function_compiled_by_torchscript_that_only_reads_features_is_not_changed():
    # Head.forward() gets features of `h` only: its signature stays as it is.
    source = migrated(SCRIPTED)
    assert "def forward(self, features):" in source


def refusals(source: str, form: str = "tuple") -> list:
    migration = migrate_source(HEADER + textwrap.dedent(source), Options(state=form))
    assert not migration.changed
    return [finding.message for finding in migration.findings if finding.code == "G2L100"]


def test_a_list_that_mixes_the_pair_with_tensors_is_refused():
    messages = refusals(SCRIPTED.replace("return self.head(torch.relu(h)), h", "out = [h, torch.relu(x)]\n        return out[0]"))
    assert len(messages) == 1, messages
    assert messages[0].startswith("`out` is a list that would mix (h, c) with Tensors in `Core.forward()`, which TorchScript compiles (`@jit.script_method`)")


def test_a_parameter_defaulting_to_none_without_annotation_is_refused():
    messages = refusals(SCRIPTED.replace("def forward(self, x, h):", "def forward(self, x, h=None):"))
    assert any(message.startswith("`h` of `Core.forward()` would hold (h, c) in a function TorchScript compiles") for message in messages), messages


def test_a_dict_that_would_hold_the_pair_is_refused():
    source = SCRIPTED.replace("h = self.cell(x, h)", "out: Dict[str, torch.Tensor] = {}\n        out[\"h\"] = self.cell(x, h)\n        h = out[\"h\"]")
    messages = refusals("from typing import Dict\n" + source)
    assert any(message.startswith("`out` is a dict that would hold (h, c) under a key in `Core.forward()`") for message in messages), messages


def test_packed_form_refuses_a_split_of_an_attribute_that_may_be_none():
    # `None if self.h is None else (self.h.chunk(...)[0], ...)`: TorchScript refines local names only.
    source = SCRIPTED.replace("self.head = Head()", "self.head = Head()\n        self.h: Optional[torch.Tensor] = None")
    source = source.replace("h = self.cell(x, h)", "self.h = self.cell(x, self.h)")
    messages = refusals("from typing import Optional\n" + source, "packed")
    assert any("splits `self.h` into its two halves" in message for message in messages), messages


def test_packed_form_refuses_a_split_it_would_have_to_compute_twice():
    source = SCRIPTED.replace("h = self.cell(x, h)", "h = self.cell(x, h * 1.0)")
    messages = refusals(source, "packed")
    assert any("TorchScript takes the LSTM's state as a tuple" in message for message in messages), messages


# --- the fixture project: a ScriptModule transition model, a planner in another file, a runner


def run_project(root: Path):
    sys.path.insert(0, str(root))
    try:
        for name in ("models", "planner", "act"):
            sys.modules.pop(name, None)
        import act

        return act.act(episodes=2, steps=3)
    finally:
        sys.path.remove(str(root))
        for name in ("models", "planner", "act"):
            sys.modules.pop(name, None)


def test_the_fixture_project_runs_as_given():
    transition, belief = run_project(FIXTURE / "input")
    assert transition.cell.original_name == "GRUCell" and belief.shape[-1] == H


def test_the_migrated_fixture_project_compiles_and_carries_c():
    transition, belief = run_project(FIXTURE / "expected")
    assert transition.cell.original_name == "LSTMCell"
    assert_carries_c(belief, "tuple")


def test_the_fixture_project_migrated_packed_compiles_and_carries_c(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "input", root)
    assert main(["rewrite", "--quiet", "--state", "packed", str(root)]) == 0
    transition, belief = run_project(root)
    assert transition.cell.original_name == "LSTMCell"
    assert_carries_c(belief, "packed")
