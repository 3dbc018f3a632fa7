"""Issue 13, session 38 (left13): the silent breaks and wrong refusals left from session 37, each
reproduced in /work/scratch/left13/. A migration is run (its LSTM gets a pair with a non-zero c, the
training step runs); a refusal is checked for its code, place and that nothing is written."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_gru_left import ACTOR
from tests.test_redteam_packed import run_migrated, write
from tests.test_review37 import LANGUAGE_MODEL, NONE_FIRST
from tests.test_wrong_refusals37 import CHECKPOINTED, SEQUENCE

FORMS = ["tuple", "packed"]


def _refused(tmp_path, capsys, form: str, files: dict, line: str) -> str:
    """Run the engine on `files`; it must refuse, write nothing, and its first finding is on `line`
    (that finding is returned)."""
    write(tmp_path, {**files, "pyproject.toml": ""})
    before = {name: (tmp_path / name).read_text() for name in files}
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{tmp_path / next(iter(files))}:{line}"), first
    assert {name: (tmp_path / name).read_text() for name in files} == before
    return first


# 1. operator.attrgetter held by a name, then called on torch.nn
HELD_GETTER = ACTOR.replace("IMPORTS", "from operator import attrgetter").replace("CHOICE", "pick = attrgetter(cfg.rnn)")


@pytest.mark.parametrize("form", FORMS)
def test_a_getter_of_torch_nn_held_by_a_name_is_one_finding_where_it_is_called(tmp_path, capsys, form):
    # before: exit 0, "1 file would be left unchanged": the GRUCell chosen by the name stayed a GRU
    first = _refused(tmp_path, capsys, form, {"actor.py": HELD_GETTER.replace("MADE", "pick(nn)(4, 8)")}, "15:21: G2L102 ")
    assert first.endswith(
        "G2L102 `pick(nn)` picks a class of torch.nn by a name the engine does not follow to a class, and a module made from it is called "
        "with a state (`self.cell(x, h)`, line 20), so a GRU chosen there would stay a GRU: choose the LSTM where the name is "
        "chosen, or write the class out (`nn.GRU(...)`) to migrate it"
    )


BESIDE = """\
            self.core = nn.GRU(4, 8)

        def run(self, x, g):
            out, g = self.core(x, g)
            return out, g
"""


@pytest.mark.parametrize("made", ["pick(nn)(4, 8)", "attrgetter(cfg.rnn)(nn)(4, 8)"])
def test_a_getter_of_torch_nn_beside_a_gru_is_one_finding(tmp_path, capsys, made):
    # before: exit 0, the GRU by its name migrated and the one chosen by the getter left a GRU
    source = HELD_GETTER.replace("MADE", made).replace("            self.pi = nn.Linear(8, 2)\n", "            self.pi = nn.Linear(8, 2)\n" + BESIDE)
    first = _refused(tmp_path, capsys, "tuple", {"actor.py": source}, "15:21: G2L101 ")
    assert f"`{made.rpartition('(4, 8)')[0]}` takes a module class of torch.nn by a name it does not read (`cfg.rnn`)" in first


# 2. torch.is_tensor(h) bound to a name, where h is None on the first step
BOUND_TEST = "is_t = torch.is_tensor(h)\n            if not is_t:\n                h = torch.zeros(1, x.shape[1], 8)\n            out, h = self.core(x, h)"


@pytest.mark.parametrize("form", FORMS)
def test_a_tensor_test_bound_to_a_name_migrates_and_runs(tmp_path, form):
    # before: exit 0 in both forms, `torch.is_tensor(h[0])` (TypeError on None) or
    # `torch.is_tensor(h.chunk(2, dim=-1)[0])` (AttributeError on None)
    write(tmp_path, {"agent.py": NONE_FIRST.format(body=BOUND_TEST), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    source = (tmp_path / "agent.py").read_text()
    assert ("is_t = isinstance(h, tuple)" if form == "tuple" else "is_t = torch.is_tensor(h)") in source
    run_migrated(tmp_path, "import agent")


FLOAT_TESTS = [
    "if h is None or not h.is_floating_point():\n                h = torch.zeros(1, x.shape[1], 8)\n            out, h = self.core(x, h)",
    "if h is None or not torch.is_floating_point(h):\n                h = torch.zeros(1, x.shape[1], 8)\n            out, h = self.core(x, h)",
    "if h is None or h.dtype != torch.float32:\n                h = torch.zeros(1, x.shape[1], 8)\n            out, h = self.core(x, h)",
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("body", FLOAT_TESTS, ids=["method", "function", "dtype"])
def test_a_state_tested_for_its_dtype_where_it_may_be_none_migrates_and_runs(tmp_path, form, body):
    # `h.is_floating_point()` was G2L100 "used with `.is_floating_point()`, which the engine does not know"
    write(tmp_path, {"agent.py": NONE_FIRST.format(body=body), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


# 3. an initialiser that scales by the tensor's sizes, and a table of offsets added to the state
XAVIER = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def initial(self, batch):
            h = torch.empty(1, batch, 8)
            nn.init.xavier_uniform_(h)
            return h

        def forward(self, x, h):
            out, h = self.core(x, h)
            return self.pi(out), h


    agent = Agent()
    h = agent.initial(3)
    for step in range(3):
        y, h = agent(torch.randn(2, 3, 4), h)
        y.sum().backward()
        h = h.detach()
"""


def test_a_packed_state_given_to_an_initialiser_scaled_by_its_sizes_is_refused(tmp_path, capsys):
    # before: exit 0, xavier drew [h|c] of width 16 with the bound of a (1, 3, 16) tensor
    first = _refused(tmp_path, capsys, "packed", {"agent.py": XAVIER}, "13:9: G2L100 ")
    assert first.endswith(
        "`nn.init.xavier_uniform_(h)` draws the hidden state's values at a scale it computes from the tensor's sizes; in the "
        "packed form the state is h and c side by side, twice as wide, so the scale would change; use --state tuple (each half "
        "is drawn as the GRU's state was), or initialise h and c apart by hand"
    )


def test_a_state_given_to_an_initialiser_scaled_by_its_sizes_is_drawn_per_half_in_the_tuple_form(tmp_path):
    write(tmp_path, {"agent.py": XAVIER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "(nn.init.xavier_uniform_(h[0]), nn.init.xavier_uniform_(h[1]))" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


OFFSET_TABLE = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, n_ids=5):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.table = torch.randn(n_ids, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h, ids):
            h = h + self.table[ids]
            out, h = self.core(x, h)
            return self.pi(out), h


    agent = Agent()
    h = torch.zeros(1, 3, 8)
    for step in range(3):
        y, h = agent(torch.randn(2, 3, 4), h, torch.tensor([0, 2, 4]))
        h = h.detach()
"""


@pytest.mark.parametrize("form, what", [
    ("tuple", "adds `self.table[ids]`, which is not a hidden state, to the hidden state"),
    ("packed", "combines the hidden state with `self.table[ids]`, an allocation of the hidden size `8`"),
])
def test_a_table_of_offsets_added_to_the_state_is_refused(tmp_path, capsys, form, what):
    # before: exit 0; the table was paired (tuple: c got rows of a second random table) or doubled
    # (packed: c got the table's second half), a computation the GRU program did not make
    first = _refused(tmp_path, capsys, form, {"agent.py": OFFSET_TABLE}, "13:13: G2L100 ")
    assert f"G2L100 `h + self.table[ids]` {what}" in first


# 4. a factory of a fresh tensor called for the state and for a mask
FACTORY = """\
    import torch
    import torch.nn as nn


    def fresh(n, dim{extra}):
        return torch.zeros(n, dim{keywords})


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h


    agent = Agent()
    h = fresh(3, 8{given})
    mask = fresh(3, 8)
    for step in range(3):
        y, h = agent(torch.randn(3, 4), h)
        mask = mask + 1
        y.sum().backward()
        h = h.detach()
    assert not isinstance(mask, tuple) and mask.shape == (3, 8)
"""


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("extra, keywords, given", [("", "", ""), (", device='cpu'", ", device=device", ", device='cpu'")], ids=["plain", "keyword"])
def test_a_factory_called_for_the_state_and_for_a_mask_changes_only_the_state_call(tmp_path, form, extra, keywords, given):
    # before: the factory's return joined both calls: the mask was paired (tuple) or doubled
    # (packed) with the state; the driver's mask check failed
    source = FACTORY.format(extra=extra, keywords=keywords, given=given)
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert "\nmask = fresh(3, 8)\n" in migrated and "    return torch.zeros(n, dim" in migrated
    assert (f"h = fresh(3, 2 * 8{given})" in migrated) == (form == "packed")
    run_migrated(tmp_path, "import agent")


# 5. wrong refusals and wording
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("spread", ["kw = dict(use_reentrant=False)", "kw = {'use_reentrant': False, 'preserve_rng_state': True}"])
def test_a_checkpoint_given_its_keywords_by_a_dict_written_out_migrates_and_runs(tmp_path, form, spread):
    # before: G2L101 "run by a checkpoint without `use_reentrant=False`"
    called = f"{spread}\n            out, h = checkpoint(self.core, x, h, **kw)"
    write(tmp_path, {"agent.py": CHECKPOINTED.format(imported="from torch.utils.checkpoint import checkpoint", called=called, **SEQUENCE), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


def test_a_checkpoint_given_keywords_the_engine_cannot_read_is_one_finding_that_says_why(tmp_path, capsys):
    called = "out, h = checkpoint(self.core, x, h, **self.kw)"
    source = CHECKPOINTED.format(imported="from torch.utils.checkpoint import checkpoint", called=called, **SEQUENCE).replace(
        "self.pi = nn.Linear(8, 2)", "self.pi = nn.Linear(8, 2)\n            self.kw = dict(use_reentrant=False)",
    )
    first = _refused(tmp_path, capsys, "tuple", {"agent.py": source}, "14:29: G2L101 ")
    assert first.endswith(
        "G2L101 the recurrent module `self.core` is run by a checkpoint here whose keywords come from `**self.kw`, which the "
        "engine reads only as a dict written out in the function and only spread there (`kw = dict(use_reentrant=False)`), so "
        "it may be reentrant; a reentrant checkpoint would give back the LSTM's new `(h, c)` without gradients (it tracks the "
        "tensors it returns, not those inside a returned tuple); pass `use_reentrant=False` to the checkpoint, which the engine "
        "then follows as a call of the module, or migrate this by hand"
    )


def test_a_state_tested_for_being_a_list_is_refused_with_what_the_test_does(tmp_path, capsys):
    # before: "... in the tuple form the test would turn true", but a tuple is no list
    helper = "    if isinstance(h, list):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()"
    first = _refused(tmp_path, capsys, "tuple", {"main.py": LANGUAGE_MODEL.replace("{helper}", helper)}, "24:8: G2L100 ")
    assert first.endswith(
        "G2L100 `isinstance(h, list)` tests whether the hidden state `h` is a list; in the tuple form the LSTM's (h, c) is a "
        "tuple, so the test stays false and the code written for one tensor runs on the pair, which the engine does not rewrite "
        "or check; let the test take a tuple too if that branch handles the pair, use --state packed (the state stays one "
        "tensor), or migrate this code by hand"
    )


def test_a_state_unpacked_into_a_starred_target_migrates_and_runs_in_the_tuple_form(tmp_path):
    # before: G2L102 "`rest` holds the hidden state elsewhere, but here it receives a starred target"
    body = "out, *rest = self.core(x, h)\n            h = rest[0]"
    write(tmp_path, {"agent.py": NONE_FIRST.format(body=body), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "out, *rest = self.core(x, h)\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")
