"""Wrong refusals of real idioms (session 37): a state stored into the record of the next step
(`records[step + 1].hidden[i] = ...`), a GRU run under torch.utils.checkpoint, the
word-language-model `repackage_hidden` helper, `isinstance(h, torch.Tensor)` tests. Each migrates
now and runs, or stays refused with one finding that says what is wrong."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# minqi/learning-to-communicate: each step's record holds every agent's state, the next one is
# written into the record of step + 1
RECORDS = """\
    import torch
    import torch.nn as nn


    class Record:
        pass


    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8, batch_first=True)
            self.q = nn.Linear(8, 2)

        def forward(self, s_t, hidden):
            out, h_out = self.rnn(s_t.unsqueeze(1), hidden)
            return h_out, self.q(out[:, -1])


    def create_step_record(n_agents, bs):
        record = Record()
        record.hidden = torch.zeros(n_agents, 1, bs, 8)
        return record


    def run_episode(model, steps=4, n_agents=2, bs=3):
        records = [create_step_record(n_agents, bs)]
        loss = 0
        for step in range(steps):
            records.append(create_step_record(n_agents, bs))
            for agent_idx in range(n_agents):
                hidden = records[step].hidden[agent_idx, :]
                hidden_t, q_t = model(torch.randn(bs, 4), hidden)
                records[{next}].hidden[agent_idx] = hidden_t.squeeze()
                loss = loss + q_t.sum()
        return loss


    torch.manual_seed(0)
    model = Model()
    run_episode(model).backward()
"""


@pytest.mark.parametrize("following", ["step + 1", "-1", "step + 2 - 1 + 0 * agent_idx"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_stored_into_the_next_record_by_index_arithmetic_migrates_and_runs(tmp_path, form, following):
    # tuple: G2L100 "`records[step + 1].hidden` would be evaluated twice" (reading it twice is harmless)
    write(tmp_path, {"arena.py": RECORDS.replace("{next}", following), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('arena.py')")
    if form == "tuple":
        assert f"records[{following}].hidden[1][agent_idx] = hidden_t[1].squeeze()" in (tmp_path / "arena.py").read_text()


@pytest.mark.parametrize("following", ["len(records) - 1", "(n := step + 1)"])
def test_a_state_stored_into_a_record_picked_by_a_call_or_a_walrus_stays_refused(tmp_path, capsys, following):
    write(tmp_path, {"arena.py": RECORDS.replace("{next}", following), "pyproject.toml": ""})
    before = (tmp_path / "arena.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'arena.py'}:34:13: G2L100 `records[{following}].hidden` would be evaluated twice, "
        "once per half; assign it to a name first"
    )
    assert (tmp_path / "arena.py").read_text() == before


# a GRU run under activation checkpointing
CHECKPOINTED = """\
    import torch
    import torch.nn as nn
    {imported}


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.{kind}(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            {called}
            return self.pi(out), h


    torch.manual_seed(0)
    agent = Agent()
    h = torch.zeros({shape})
    loss = 0
    for step in range(4):
        y, h = agent(torch.randn({inputs}, requires_grad=True), h)
        loss = loss + y.sum()
    loss.backward()
"""
SEQUENCE = dict(kind="GRU", shape="1, 3, 8", inputs="2, 3, 4")
CELL = dict(kind="GRUCell", shape="3, 8", inputs="3, 4")


@pytest.mark.parametrize("imported, called, shapes", [
    ("from torch.utils.checkpoint import checkpoint", "out, h = checkpoint(self.core, x, h, use_reentrant=False)", SEQUENCE),
    ("import torch.utils.checkpoint", "out, h = torch.utils.checkpoint.checkpoint(self.core, x, h, use_reentrant=False, preserve_rng_state=True)", SEQUENCE),
    ("from torch.utils import checkpoint as ckpt", "h = out = ckpt.checkpoint(self.core, x, h, use_reentrant=False)", CELL),
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_recurrent_module_under_a_non_reentrant_checkpoint_migrates_and_runs(tmp_path, form, imported, called, shapes):
    # G2L101 "handed to `checkpoint()`, which may call it with the state as one tensor": with
    # use_reentrant=False checkpoint(f, *args) returns f(*args), a pair with its gradients
    write(tmp_path, {"agent.py": CHECKPOINTED.format(imported=imported, called=called, **shapes), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


@pytest.mark.parametrize("reentrant", ["", ", use_reentrant=True"])
def test_a_recurrent_module_under_a_reentrant_checkpoint_is_one_finding(tmp_path, capsys, reentrant):
    # torch: a reentrant checkpoint gives back the tensors inside a returned (h, c) with no grad_fn
    called = f"out, h = checkpoint(self.core, x, h{reentrant})"
    write(tmp_path, {"agent.py": CHECKPOINTED.format(imported="from torch.utils.checkpoint import checkpoint", called=called, **SEQUENCE), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'agent.py'}:13:29: G2L101 the recurrent module `self.core` is run by a checkpoint without "
        "`use_reentrant=False` here; a reentrant checkpoint would give back the LSTM's new `(h, c)` without gradients "
        "(it tracks the tensors it returns, not those inside a returned tuple); pass `use_reentrant=False` to the "
        "checkpoint, which the engine then follows as a call of the module, or migrate this by hand",
    ]
    assert (tmp_path / "agent.py").read_text() == before


# pytorch/examples word_language_model: the state detached between batches by a helper that
# already takes a tuple of tensors
LANGUAGE_MODEL = """\
    import torch
    import torch.nn as nn


    class RNNModel(nn.Module):
        def __init__(self, ntoken=10, ninp=6, nhid=8, nlayers=2):
            super().__init__()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.GRU(ninp, nhid, nlayers)
            self.decoder = nn.Linear(nhid, ntoken)
            self.nhid, self.nlayers = nhid, nlayers

        def forward(self, input, hidden):
            output, hidden = self.rnn(self.encoder(input), hidden)
            return self.decoder(output), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return weight.new_zeros(self.nlayers, bsz, self.nhid)


    def repackage_hidden(h):
        '''Wraps hidden states in new Tensors, to detach them from their history.'''
    {helper}


    torch.manual_seed(0)
    model = RNNModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    hidden = model.init_hidden(4)
    for batch in range(5):
        data = torch.randint(0, 10, (7, 4))
        targets = torch.randint(0, 10, (7 * 4,))
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output.view(-1, 10), targets)
        loss.backward()  # a second pass through the last batch's graph would raise: the state must be detached
        optimizer.step()
"""
REPACKAGED = [
    "    if isinstance(h, torch.Tensor):\n            return h.detach()\n        else:\n            return tuple(repackage_hidden(v) for v in h)",
    "    if type(h) == torch.Tensor:\n            return h.data\n        return tuple([repackage_hidden(v) for v in h])",
    "    if isinstance(h, tuple):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
    "    if isinstance(h, torch.autograd.Variable):\n            return torch.autograd.Variable(h.data)\n        else:\n            return tuple(repackage_hidden(v) for v in h)",
]


@pytest.mark.parametrize("helper", REPACKAGED)
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_the_repackage_hidden_helper_migrates_unchanged_and_runs(tmp_path, form, helper):
    # G2L102 "`repackage_hidden(v)` receives `tuple(repackage_hidden(v) for v in h)`" + G2L100 "iterated by its rows"
    write(tmp_path, {"main.py": LANGUAGE_MODEL.replace("{helper}", helper), "pyproject.toml": ""})
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('main.py')")
    after = (tmp_path / "main.py").read_text()
    kept = before[before.index("def repackage_hidden"):before.index("torch.manual_seed")]
    assert kept in after and "hidden = repackage_hidden(hidden)\n" in after


# a state tested for being one tensor: in the tuple form the test would turn false
TENSOR_TESTED = """\
    import numpy as np
    import torch
    import torch.nn as nn
    from torch import Tensor


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.core(x, h)
            return self.pi(out), h


    def detach_state(h):
        if {test}:
            h = h.detach()
        return h


    torch.manual_seed(0)
    agent = Agent()
    h = torch.zeros(1, 3, 8)
    for step in range(4):
        y, h = agent(torch.randn(2, 3, 4), h)
        y.sum().backward()
        h = {detached}
"""
TENSOR_TESTS = ["isinstance(h, torch.Tensor)", "type(h) is torch.Tensor", "isinstance(h, (Tensor, np.ndarray))"]
DETACHED = "state = runpy.run_path('agent.py')['h']; assert all(half.grad_fn is None for half in (state if isinstance(state, tuple) else [state]))"


@pytest.mark.parametrize("test", TENSOR_TESTS)
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_helper_that_tests_for_a_tensor_runs_on_each_half_and_runs(tmp_path, form, test):
    # exit 0 before, the helper handed the pair whole: the test turned false and nothing was detached
    write(tmp_path, {"agent.py": TENSOR_TESTED.format(test=test, detached="detach_state(h)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; " + DETACHED)
    if form == "tuple":
        assert "h = (detach_state(h[0]), detach_state(h[1]))" in (tmp_path / "agent.py").read_text()


@pytest.mark.parametrize("test", TENSOR_TESTS)
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_tested_for_being_a_tensor_in_place_reads_its_first_half_and_runs(tmp_path, form, test):
    # as on main: the test written where the state is reads h (`isinstance(h[0], torch.Tensor)`)
    write(tmp_path, {"agent.py": TENSOR_TESTED.format(test="True", detached=f"h.detach() if {test} else h"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; " + DETACHED)


# two subclasses of one base set `self.core`, one a GRUCell, one another module; the base's
# method calls `self.core(x, h)` for both
SIBLINGS = """\
    import torch
    import torch.nn as nn


    class Base(nn.Module):
        def step(self, x, h):
            return self.core(x, h)


    class GRUAgent(Base):
        def __init__(self):
            super().__init__()
            self.core = nn.GRUCell(4, 8)


    class MLPCore(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(4 + 8, 8)

        def forward(self, x, h):
            return torch.tanh(self.net(torch.cat([x, h], -1)))


    class MLPAgent(Base):
        def __init__(self):
            super().__init__()
            self.core = MLPCore()


    recurrent, mlp = GRUAgent(), MLPAgent()
    h = g = torch.zeros(3, 8)
    for t in range(4):
        h = recurrent.step(torch.randn(3, 4), h)
        g = mlp.step(torch.randn(3, 4), g)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_gru_attribute_shared_with_a_sibling_class_names_both_classes(tmp_path, capsys, form):
    # before: "... (a helper that stores every module it is given joins them)", naming no class
    write(tmp_path, {"agents.py": SIBLINGS, "pyproject.toml": ""})
    before = (tmp_path / "agents.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'agents.py'}:13:21: G2L102 `nn.GRUCell(4, 8)` is held in `self.core` of `GRUAgent`, which is joined "
        "with `self.core` of `Base` and `MLPAgent`, where a `MLPCore` is held too (`MLPCore()`, line 28): the classes share "
        "the code that calls `self.core`, so the engine cannot tell the GRU's calls from the `MLPCore`'s and leaves both "
        "as they are; give the GRU an attribute of its own in `GRUAgent` (and the call of it there)",
    ]
    assert (tmp_path / "agents.py").read_text() == before


# a block of the program that holds the GRU, checkpointed whole
CHECKPOINTED_BLOCK = """\
    import torch
    import torch.nn as nn
    from torch.utils.checkpoint import checkpoint


    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            return self.gru(x, h)


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = checkpoint(self.block, x, h{reentrant})
            return self.pi(out), h


    agent = Agent()
    h = torch.zeros(1, 3, 8)
    for step in range(4):
        y, h = agent(torch.randn(2, 3, 4, requires_grad=True), h)
    y.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_block_of_the_program_under_a_non_reentrant_checkpoint_migrates_and_runs(tmp_path, form):
    # G2L101 "an instance of `Block` is called by `checkpoint()` ..., which the engine cannot follow"
    write(tmp_path, {"agent.py": CHECKPOINTED_BLOCK.format(reentrant=", use_reentrant=False"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


def test_a_block_of_the_program_under_a_reentrant_checkpoint_stays_refused(tmp_path, capsys):
    write(tmp_path, {"agent.py": CHECKPOINTED_BLOCK.format(reentrant=""), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert "agent.py:22:29: G2L101 an instance of `Block` is called by `checkpoint()`" in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before
