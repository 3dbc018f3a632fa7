"""Wrong refusals of real idioms (session 36): batches joined from a tuple literal, rows of a
tensor reversed or iterated, an element of a vector picked by an index in the packed form. Each
migrates now and runs, or stays refused with the exact finding where the GRU code could not be
written per half."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_wrong_refusals35 import GROWING  # an environment added to the batch: the state grows by a fresh row


@pytest.mark.parametrize("grown", [
    "torch.cat((torch.zeros(1, 1, 4), h), 1)",
    "torch.cat((h, torch.zeros(1, 1, 4)), dim=1)",
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_joined_with_fresh_rows_by_a_tuple_literal_migrates_and_runs(tmp_path, form, grown):
    # G2L101 "built from pieces the engine cannot trace back to a state" (the list spelling migrated)
    write(tmp_path, {"policy.py": GROWING.format(grown=grown), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('policy.py')")


def test_a_state_joined_by_a_tuple_literal_is_written_per_half(tmp_path):
    write(tmp_path, {"policy.py": GROWING.format(grown="torch.cat((torch.zeros(1, 1, 4), h), 1)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (torch.cat((torch.zeros(1, 1, 4), h[0]), 1), torch.cat((torch.zeros(1, 1, 4), h[1]), 1))" in (
        (tmp_path / "policy.py").read_text()
    )


# two environments' states stacked into one array, the first taken back
STACKED = """\
    import torch
    import torch.nn as nn

    core = nn.GRU(3, 4)
    a = torch.zeros(1, 2, 4)
    b = torch.zeros(1, 2, 4)
    for step in range(3):
        _, a = core(torch.randn(1, 2, 3), a)
        _, b = core(torch.randn(1, 2, 3), b)
    both = torch.stack((a, b))
    out, h = core(torch.randn(1, 2, 3), both[0])
    out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_states_stacked_by_a_tuple_literal_migrate_and_run(tmp_path, form):
    write(tmp_path, {"run.py": STACKED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")
    if form == "tuple":
        assert "both = (torch.stack((a[0], b[0])), torch.stack((a[1], b[1])))" in (tmp_path / "run.py").read_text()


# rows of the state reset one by one, in the order a builtin gives them
ROWS = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h, done):
            rows = []
            for {target} in {iterable}:
                rows.append({kept})
            h = torch.stack(rows).unsqueeze(0)
            out, h = self.core(x.unsqueeze(0), h)
            return self.pi(out[0]), h


    torch.manual_seed(0)
    agent = Agent()
    h = torch.zeros(1, 3, 8)
    done = torch.zeros(3)
    loss = 0
    for step in range(5):
        y, h = agent(torch.randn(3, 4), h, done)
        loss = loss + y.sum()
        done = (torch.rand(3) < 0.3).float()
    loss.backward()
"""


@pytest.mark.parametrize("target, iterable, kept", [
    ("row, d", "zip(reversed(h[0]), done)", "torch.zeros_like(row) if d else row"),
    ("row, d", "zip(iter(h[0]), done)", "torch.zeros_like(row) if d else row"),
    ("row", "reversed(h.squeeze(0))", "row * 0.5"),
    ("i, row", "enumerate(h.squeeze(0))", "row * (1 - done[i])"),
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_rows_of_a_state_reversed_iterated_or_masked_by_an_element_migrate_and_run(tmp_path, form, target, iterable, kept):
    # reversed()/iter(): G2L101 "a part of what iterating ... gives"; `done[i]` of a vector, packed:
    # G2L100 "made with its last size `3`" (it is a number)
    write(tmp_path, {"agent.py": ROWS.format(target=target, iterable=iterable, kept=kept), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


def test_rows_of_a_state_masked_by_a_row_of_a_matrix_stay_refused_packed(tmp_path, capsys):
    # `done[i]` of a (3, 8) mask is as wide as h: in the packed form it would no longer line up
    source = ROWS.format(target="i, row", iterable="enumerate(h.squeeze(0))", kept="row * (1 - done[i])")
    source = source.replace("torch.zeros(3)", "torch.zeros(3, 8)").replace("torch.rand(3)", "torch.rand(3, 8)")
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:14:25: G2L100 `row * (1 - done[i])` combines the hidden state with `(1 - done[i])`, "
        "an allocation of the hidden size `8`; in the packed form the state is h and c side by side, twice as wide, "
        "so the two would no longer line up; use --state tuple, or migrate this by hand"
    )


def test_rows_of_a_state_sorted_stay_refused(tmp_path, capsys):
    # the key would be computed on pairs (tuple) or on h and c side by side (packed)
    iterable = "zip(sorted(h[0], key=lambda r: float(r.sum())), done)"
    write(tmp_path, {"agent.py": ROWS.format(target="row, d", iterable=iterable, kept="row"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:13:13: G2L101 `row, d` holds the hidden state elsewhere, but here it receives a part "
        f"of what iterating `{iterable}` gives, which the engine cannot follow; migrate this use by hand so that it "
        "handles the pair (h, c)"
    )


# a replay of sequences keeps the state each sequence started from, (capacity, 1, H), and samples
# some by a tensor of indices: rows of the store, its last dimension the hidden one
REPLAY = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.q = nn.Linear(8, 3)

        def forward(self, obs, h):
            y, h = self.core(obs, h)
            return self.q(y), h


    class Replay:
        def __init__(self, capacity, length):
            self.obs = torch.zeros(capacity, length, 4)
            self.start = torch.zeros(capacity, 1, 8)
            self.size = 0

        def push(self, obs, h0):
            slot = self.size % self.obs.shape[0]
            self.obs[slot] = obs
            self.start[slot] = h0[:, 0]
            self.size += 1

        def sample(self, k):
            idx = {drawn}
            return self.obs[idx].transpose(0, 1), self.start[idx].transpose(0, 1)


    def learn(net, batch):
        obs, h0 = batch
        q, _ = net(obs, h0)
        q.pow(2).mean().backward()


    net, replay = Net(), Replay(8, 5)
    h = torch.zeros(1, 1, 8)
    for episode in range(3):
        start, obs = h, torch.randn(5, 4)
        with torch.no_grad():
            _, h = net(obs.unsqueeze(1), h)
        replay.push(obs, start)
    learn(net, replay.sample(2))
"""


@pytest.mark.parametrize("drawn", ["torch.randint(0, self.size, (k,))", "torch.randperm(self.size)[:k]"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_stored_start_states_sampled_by_drawn_indices_migrate_and_run(tmp_path, form, drawn):
    # packed: G2L100 "`self.start[idx].transpose(0, 1)` acts along the last dimension" (the rank
    # after an index that is a name was not known: an integer would drop a dimension)
    write(tmp_path, {"replay.py": REPLAY.format(drawn=drawn), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('replay.py')")


def test_stored_start_states_taken_by_an_integer_stay_refused_packed(tmp_path, capsys):
    source = REPLAY.format(drawn="self.size - 1").replace("self.start[idx].transpose(0, 1)", "self.start[idx].transpose(0, 1)[None]")
    write(tmp_path, {"replay.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'replay.py'}:30:47: G2L100 `self.start[idx].transpose(0, 1)` acts along the last dimension of the "
        "hidden state (or one the engine cannot tell from it), and its result stays a state; in the packed form that "
        "dimension holds h and c side by side, so it would mix them; use --state tuple, or migrate this by hand"
    )


# environments reset, dropped and reordered by index operations along the batch dimension of an
# (L, B, H) state, the model in a file of its own
CORE = """\
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 4, num_layers=2)
            self.pi = nn.Linear(4, 2)

        def forward(self, x, h):
            y, h = self.gru(x.unsqueeze(0), h)
            return self.pi(y[0]), h
"""
INDEXED = """\
    import torch

    from model import Core

    core = Core()
    h = torch.zeros(2, 4, 4)
    outs = []
    for t in range(4):
        out, h = core(torch.randn(4, 3), h)
        outs.append(out)
        done = torch.tensor([t % 4])
{reset}
    torch.stack(outs).pow(2).mean().backward()
"""


def indexed(reset: str) -> str:
    """INDEXED with `reset` (lines of the loop's body, without its indentation) at the end of the loop."""
    return INDEXED.format(reset=textwrap.indent(reset, " " * 8))


@pytest.mark.parametrize("reset", [
    "h = h.detach()\nh.index_fill_(1, done, 0.0)",
    "h = h.index_copy(1, done, torch.zeros_like(h).index_select(1, done))\nfor i in done.tolist():\n    h[:, i].zero_()",
    "keep = torch.tensor([0, 1, 3]) if t == 2 else torch.arange(4)\nh = h.index_select(1, keep)\n"
    "if h.shape[1] < 4:\n    h = torch.cat([h, torch.zeros(2, 4 - h.shape[1], 4)], 1)\nperm = torch.randperm(4)\nh = h[:, perm]",
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_index_operations_along_the_batch_of_a_state_migrate_and_run(tmp_path, form, reset):
    # packed: G2L100 "acts along the last dimension" on `h.index_copy(1, ...)`, `h[:, i]`, `h.index_select(1, keep)`
    write(tmp_path, {"model.py": CORE, "run.py": indexed(reset), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


@pytest.mark.parametrize("reset, column", [
    ("h = h.index_copy(1, done, h0.index_select(1, done))", 9),
    ("h.index_copy_(1, done, h0.index_select(1, done))", 5),
])
def test_rows_copied_from_a_fresh_tensor_of_the_hidden_size_are_refused_packed(tmp_path, capsys, reset, column):
    # the rows copied in keep width H where the packed state is 2H: exit 0 and a RuntimeError before
    # (a GRUCell state, whose rank was known), refused now; the tuple form copies them into each half
    source = indexed(reset).replace("    h = torch.zeros(2, 4, 4)\n", "    h = torch.zeros(2, 4, 4)\n    h0 = torch.zeros(2, 4, 4)\n")
    write(tmp_path, {"model.py": CORE, "run.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    call = reset.removeprefix("h = ")
    assert capsys.readouterr().out.splitlines()[1] == (  # after model.py's G2L105
        f"{tmp_path / 'run.py'}:13:{column}: G2L100 `{call}` combines the hidden state with `h0.index_select(1, done)`, an "
        "allocation of the hidden size `4`; in the packed form the state is h and c side by side, twice as wide, so the "
        "two would no longer line up; use --state tuple, or migrate this by hand"
    )
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


def test_rows_of_a_cell_state_copied_from_a_fresh_tensor_are_refused_packed(tmp_path, capsys):
    # exit 0 before, and `index_copy_(): Source/destination tensor must have same slice shapes`
    source = """\
        import torch
        import torch.nn as nn

        cell = nn.GRUCell(3, 4)
        h = torch.zeros(5, 4)
        h0 = torch.zeros(5, 4)
        for t in range(4):
            h = cell(torch.randn(5, 3), h)
            ids = torch.tensor([t % 5])
            h = h.index_copy(0, ids, h0.index_select(0, ids))
        h.sum().backward()
    """
    write(tmp_path, {"run.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'run.py'}:10:9: G2L100 `h.index_copy(0, ids, h0.index_select(0, ids))` combines the hidden state "
        "with `h0.index_select(0, ids)`, an allocation of the hidden size `4`; in the packed form the state is h and c "
        "side by side, twice as wide, so the two would no longer line up; use --state tuple, or migrate this by hand"
    )


# attention over the embedding and the state's first layer joined by a tuple literal
ATTENDED = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Decoder(nn.Module):
        def __init__(self, size=4):
            super().__init__()
            self.attn = nn.Linear(2 * size, 3)
            self.gru = nn.GRU(size, size)

        def forward(self, x, hidden):
            weights = F.softmax(self.attn(torch.cat((x[0], hidden[0]), 1)), dim=1)
            out, hidden = self.gru(x * weights.sum(), hidden)
            return out, hidden


    decoder = Decoder()
    h = torch.zeros(1, 1, 4)
    for step in range(3):
        out, h = decoder(torch.randn(1, 1, 4), h)
    out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_read_as_features_in_a_tuple_literal_joined_reads_h(tmp_path, form):
    # tuple: exit 0 before with `hidden[0]` left as it was, the pair's h, (1, 1, H) where (1, H)
    # was joined: "Tensors must have same number of dimensions"
    write(tmp_path, {"decoder.py": ATTENDED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('decoder.py')")


# a recurrent core and a feed-forward one chosen by config, both returning (features, state)
CORES = """\
    import torch
    import torch.nn as nn


    class RecurrentCore(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.cell = nn.GRUCell(size, size)
            self.size = size

        def initial(self, n):
            return torch.zeros(n, self.size)

        def forward(self, x, h):
            h = self.cell(x, h)
            return h, h


    class FeedForwardCore(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.fc = nn.Linear(size, size)
            self.size = size

        def initial(self, n):
            return torch.zeros(n, self.size)

        def forward(self, x, h):
            return torch.relu(self.fc(x)), h


    def make_core(kind, size):
        return RecurrentCore(size) if kind == "gru" else FeedForwardCore(size)


    for kind in ["gru", "mlp"]:
        core, head = make_core(kind, 4), nn.Linear(4, 2)
        h = core.initial(3)
        for step in range(3):
            features, h = core(torch.randn(3, 4), h)
        head(features).sum().backward()
"""


@pytest.mark.parametrize("form, h_alone", [("tuple", "h[0]"), ("packed", "h.chunk(2, dim=-1)[0]")])
def test_features_returned_where_another_core_returns_its_state_name_that_core(tmp_path, capsys, form, h_alone):
    # before: "the hidden state comes from `torch.relu(self.fc(x))` ... give it one by hand, for
    # example `(h, torch.zeros_like(h))`" (the features would become a pair)
    write(tmp_path, {"cores.py": CORES, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'cores.py'}:29:16: G2L101 `torch.relu(self.fc(x))`, features of the layer `self.fc`, is returned "
        "in position 0, where `RecurrentCore.forward`, run by the same calls, returns the hidden state (`h`, line 16), so "
        "the engine would have to give these features a cell state; if the callers read position 0 only as features, "
        f"migrate these returns by hand, the recurrent one returning only h there (`{h_alone}`)"
    )


@pytest.mark.parametrize("joined", [
    "torch.cat((torch.ones(1, 2, 4) * logits.mean(), h), 1)",
    "torch.cat([torch.ones(1, 2, 4) * logits.mean(), h], 1)",
])
def test_a_state_joined_with_a_tensor_that_is_no_new_one_is_refused_packed(tmp_path, capsys, joined):
    # the list spelling was exit 0 and "Sizes of tensors must match" (H beside 2H)
    write(tmp_path, {"policy.py": GROWING.format(grown=f"{joined}[:, :2]"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'policy.py'}:21:24: G2L100 `{joined}` joins the hidden state with `torch.ones(1, 2, 4) * "
        "logits.mean()`, which is neither a state nor a new tensor, so the engine cannot make it as wide as the packed "
        "state (h and c side by side); make it a new tensor (`torch.zeros(...)`), or migrate this use by hand so that "
        "it handles the pair (h, c)"
    )
