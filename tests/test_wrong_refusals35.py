"""Wrong refusals of real idioms (session 35): each migrates now and runs, or stays refused with
the exact finding where writing it per half would change what the GRU code did."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# an environment added to the batch: the state grows by a fresh row
GROWING = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(3, 4)
            self.pi = nn.Linear(4, 2)

        def forward(self, x, h):
            y, h = self.core(x, h)
            return self.pi(y), h


    policy = Policy()
    h = torch.zeros(1, 2, 4)
    for step in range(3):
        logits, h = policy(torch.randn(1, h.shape[1], 3), h)
        if step == 1:
            h = {grown}
    logits.sum().backward()
"""


@pytest.mark.parametrize("grown", [
    "torch.cat([h, torch.zeros(1, 1, 4)], dim=1)",
    "torch.cat([torch.zeros(1, 1, 4), h], 1)",
    "torch.cat([h, torch.zeros_like(h[:, :1])], dim=1)",
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_joined_with_fresh_rows_migrates_and_runs(tmp_path, form, grown):
    # tuple: G2L100 "batches stored hidden states from an expression the engine would have to evaluate twice"
    write(tmp_path, {"policy.py": GROWING.format(grown=grown), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('policy.py')")


def test_a_state_joined_with_fresh_rows_is_written_per_half(tmp_path):
    write(tmp_path, {"policy.py": GROWING.format(grown="torch.cat([h, torch.zeros(1, 1, 4)], dim=1)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (torch.cat([h[0], torch.zeros(1, 1, 4)], dim=1), torch.cat([h[1], torch.zeros(1, 1, 4)], dim=1))" in (
        (tmp_path / "policy.py").read_text()
    )


def test_a_state_joined_with_random_rows_is_refused(tmp_path, capsys):
    # once per half, h and c would get different draws
    write(tmp_path, {"policy.py": GROWING.format(grown="torch.cat([h, torch.randn(1, 1, 4)], dim=1)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'policy.py'}:21:27: G2L100 `torch.randn(1, 1, 4)` draws random numbers, and "
        "`torch.cat([h, torch.randn(1, 1, 4)], dim=1)` runs once per half of the hidden state, so h and c would get "
        "different draws; assign it to a name first"
    )


def test_a_state_joined_with_a_tensor_that_is_no_state_is_refused(tmp_path, capsys):
    # what c should get beside the learned rows is a choice the code does not state
    grown = "torch.cat([h, policy.pi.weight[:1, None, :2].repeat(1, 1, 2)], dim=1)"
    write(tmp_path, {"policy.py": GROWING.format(grown=grown), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'policy.py'}:21:27: G2L100 `{grown}` joins the hidden state with "
        "`policy.pi.weight[:1, None, :2].repeat(1, 1, 2)`, which is neither a state nor a new tensor, so the engine "
        "cannot tell what the cell state c should get in its place; make it a new tensor (`torch.zeros(...)`), or "
        "migrate this use by hand so that it handles the pair (h, c)"
    )


# the last states kept in a ring, stacked for a look back
RING = """\
    import collections

    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, keep=3):
            super().__init__()
            self.cell = nn.GRUCell(4, 6)
            self.head = nn.Linear(6, 2)
            self.ring = collections.deque(maxlen=keep)

        def act(self, x, h):
            h = self.cell(x, h)
            self.ring.append(h.detach())
            return self.head(h), h

        def recent(self):
            return {recent}


    agent = Agent()
    h = torch.zeros(2, 6)
    for step in range(5):
        y, h = agent.act(torch.randn(2, 4), h)
    past = agent.recent()
    y, _ = agent.act(torch.randn(2, 4), past[0])
    y.sum().backward()
"""


@pytest.mark.parametrize("recent", ["torch.stack(list(self.ring))", "torch.stack(tuple(self.ring), 0)"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_copied_ring_of_states_stacked_migrates_and_runs(tmp_path, form, recent):
    # tuple: G2L100 "batches stored hidden states from an expression the engine would have to evaluate twice"
    write(tmp_path, {"agent.py": RING.format(recent=recent), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


def test_a_sorted_ring_of_states_stacked_stays_refused(tmp_path, capsys):
    # sorted() runs its key once per half: not a copy
    recent = "torch.stack(sorted(self.ring, key=lambda s: float(s.sum())))"
    write(tmp_path, {"agent.py": RING.format(recent=recent), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:20:28: G2L100 `{recent[12:-1]}` would run twice, once per half of the hidden state, in "
        f"`{recent}`, and the engine cannot tell that it only computes a value; assign it to a name first"
    )


# finished environments reset to what init_hidden() makes
RESET = """\
    import torch
    import torch.nn as nn


    class Model(nn.Module):
        def __init__(self, hid=5):
            super().__init__()
            self.core = nn.GRU(3, hid)
            self.pi = nn.Linear(hid, 2)
            self.hid = hid
            self.resets = 0

        def init_hidden(self, batch):
{body}

        def forward(self, x, h):
            out, h = self.core(x, h)
            return self.pi(out), h


    model = Model()
    h = model.init_hidden(2)
    for step in range(3):
        y, h = model(torch.randn(1, 2, 3), h)
        done = torch.tensor([step == 1, False])
        h = torch.where(done[None, :, None], model.init_hidden(h.shape[1]), h)
    y.sum().backward()
"""
FRESH = """\
            weight = next(self.parameters())
            return weight.new_zeros(1, batch, self.hid)"""


@pytest.mark.parametrize("body", [FRESH, "            return torch.zeros(1, batch, self.hid).to(self.pi.weight.device)"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_reset_to_what_a_function_makes_afresh_migrates_and_runs(tmp_path, form, body):
    # tuple: G2L100 "the hidden state `model.init_hidden(...)` ... would be evaluated twice, once per half"
    write(tmp_path, {"model.py": RESET.format(body=body), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('model.py')")


@pytest.mark.parametrize("body", [
    "            return torch.randn(1, batch, self.hid)",  # each half its own draw
    "            self.resets += 1\n" + FRESH,  # counted twice
    "            return self.h0.expand(1, batch, self.hid)",  # no new tensor
])
def test_a_state_reset_to_what_a_function_does_more_than_make_stays_refused(tmp_path, capsys, body):
    text = RESET.format(body=body).replace("self.resets = 0", "self.resets = 0\n        self.h0 = torch.zeros(1, 1, hid)")
    write(tmp_path, {"model.py": text, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    line = textwrap.dedent(text).splitlines().index("    h = torch.where(done[None, :, None], model.init_hidden(h.shape[1]), h)") + 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'model.py'}:{line}:42: G2L100 the hidden state `model.init_hidden(h.shape[1])` in "
        "`torch.where(done[None, :, None], model.init_hidden(h.shape[1]), h)` would be evaluated twice, once per half; "
        "assign it to a name first"
    )


# a student's state distilled from a teacher's, beside its logits
DISTILL = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Core(nn.Module):
        def __init__(self, obs, hid):
            super().__init__()
            self.rnn = nn.GRU(obs, hid, batch_first=True)
            self.out = nn.Linear(hid, 2)

        def forward(self, x, h=None):
            y, h = self.rnn(x, h)
            return self.out(y), h


    teacher, student = Core(4, 8), Core(4, 8)
    x = torch.randn(2, 5, 4)
    with torch.no_grad():
        t_logits, t_h = teacher(x)
        t_logits, t_h = teacher(x, t_h)
    s_logits, s_h = student(x)
    loss = {loss}
    loss.backward()
"""


@pytest.mark.parametrize("loss", [
    "F.mse_loss(s_logits, t_logits) + F.mse_loss(s_h, t_h)",
    "F.kl_div(s_logits.log_softmax(-1), t_logits.softmax(-1)) + F.smooth_l1_loss(s_h, t_h, reduction='none').mean()",
    "torch.mean(s_logits) + torch.mean((s_h - t_h) ** 2)",
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_two_losses_added_do_not_join_what_they_measure(tmp_path, form, loss):
    # G2L101 "the hidden state comes from `self.out(y)`": the sum joined the logits with the state
    write(tmp_path, {"distill.py": DISTILL.format(loss=loss), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('distill.py')")
    if form == "tuple":  # only h is measured, as the GRU's h was
        assert "s_h[0]" in (tmp_path / "distill.py").read_text() and "s_logits[0]" not in (tmp_path / "distill.py").read_text()


# finished environments' rows masked one by one
ROWS = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h, done):
{masked}
            out, h = self.core(x.unsqueeze(0), h)
            return self.pi(out[0]), h


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


@pytest.mark.parametrize("masked", [
    "            h = torch.stack([row * (1 - d) for row, d in zip(h.squeeze(0), done)]).unsqueeze(0)",
    "            h = torch.stack([row * (1 - d) for row, d in zip(h[0], done)]).unsqueeze(0)",
    "            h = torch.stack([torch.zeros_like(row) if d else row for row, d in zip(h[0], done > 0)]).unsqueeze(0)",
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_rows_of_a_state_zipped_migrate_and_run(tmp_path, form, masked):
    # G2L101 "built from pieces the engine cannot trace back to a state"; `zip(h[0].unbind(0), done)` migrated
    write(tmp_path, {"agent.py": ROWS.format(masked=masked), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


def test_rows_of_a_state_enumerated_migrate_and_run(tmp_path):
    masked = (
        "            rows = []\n"
        "            for i, row in enumerate(h.squeeze(0)):\n"
        "                rows.append(row * (1 - done[i]))\n"
        "            h = torch.stack(rows).unsqueeze(0)"
    )
    write(tmp_path, {"agent.py": ROWS.format(masked=masked), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


def test_rows_of_a_state_zipped_with_a_draw_in_a_batch_written_per_half_are_refused(tmp_path, capsys):
    # each half's comprehension would draw its own mask (exit 0 before, with `h[0].unbind(0)` too)
    masked = "            h = torch.stack([row * (1 - d) for row, d in zip(h[0].unbind(0), torch.rand(3) < 0.5)]).unsqueeze(0)"
    write(tmp_path, {"agent.py": ROWS.format(masked=masked), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:12:74: G2L100 `torch.rand(3)` draws random numbers, and `{masked.strip()[4:]}` runs "
        "once per half of the hidden state, so h and c would get different draws; assign it to a name first"
    )


def test_rows_of_a_state_reversed_into_a_sliced_list_stay_refused(tmp_path, capsys):
    # reversed() of a tensor is cut into its rows (session 36: tests/test_wrong_refusals36.py); the
    # slice of the list made in place is not written once per half
    masked = "            h = torch.stack([row * (1 - d) for row, d in zip(reversed(h[0]), done)][::-1]).unsqueeze(0)"
    write(tmp_path, {"agent.py": ROWS.format(masked=masked), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:12:13: G2L100 `{masked.strip()[4:-len('.unsqueeze(0)')]}` batches stored hidden states "
        "from an expression the engine would have to evaluate twice; assign it to a local name first"
    )


# lists of states kept per group, one list taken by index and zipped
GROUPS = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.hist = [[], []]

        def act(self, x, h, k):
            h = self.cell(x, h)
            self.hist[k].append(h.detach())
            return h

        def replay(self, dones):
            kept = [s for s, d in zip({listed}, dones) if d == 0]
            return torch.stack(kept)


    agent = Agent()
    h = torch.zeros(2, 8)
    for t in range(3):
        h = agent.act(torch.randn(2, 4), h, t % 2)
    past = agent.replay(torch.zeros(2))
    h = agent.cell(torch.randn(2, 4), past[0])
"""


@pytest.mark.parametrize("listed", ["self.hist[0]", "self.hist[0].copy()"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_list_of_states_taken_by_index_and_zipped_is_refused(tmp_path, capsys, form, listed):
    # cut as a tensor's rows, the tuple form paired the list's first two states (exit 0, h and c mixed)
    write(tmp_path, {"agent.py": GROUPS.format(listed=listed), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:17:35: G2L101 `{listed}` is iterated here, and it may hold hidden states in a list "
        "rather than be a tensor cut into its rows, which the engine cannot tell apart in this loop; iterate it by index "
        "(`for i in range(len(...))`), or migrate this use by hand so that it handles the pair (h, c)"
    )


COUNTED = """\
    import torch
    import torch.nn as nn

    core = nn.GRU(4, 8)
    seen = []


    def noted(d):
        seen.append(d)
        return d


    h = torch.zeros(1, 3, 8)
    for t in range(3):
        out, h = core(torch.randn(1, 3, 4), h)
        h = torch.stack([row * d for row, d in zip({rows}, noted(torch.ones(3)))]).unsqueeze(0)
"""


@pytest.mark.parametrize("rows", ["h[0]", "h[0].unbind(0)"])
def test_a_batch_written_per_half_that_calls_what_stores_is_refused(tmp_path, capsys, rows):
    # `h[0].unbind(0)`: exit 0 before, `noted` ran twice a step
    write(tmp_path, {"run.py": COUNTED.format(rows=rows), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    statement = f"torch.stack([row * d for row, d in zip({rows}, noted(torch.ones(3)))]).unsqueeze(0)"
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'run.py'}:16:{statement.index('noted') + 9}: G2L100 `noted(torch.ones(3))` would run twice, once per "
        f"half of the hidden state, in `{statement}`, and the engine cannot tell that it only computes a value; assign it "
        "to a name first"
    )
