"""Code the engine refused although it could migrate it soundly (session 29, wave 15 reproducers):
each project is migrated in every form, then run, and its LSTM must get (h, c) with a non-zero c;
the variants that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

# `.type_as(obs)` keeps the state's shape (each half / the whole packed tensor); rows reset by index
TYPE_AS_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(5, hidden, batch_first=True)
            self.pi = nn.Linear(hidden, 2)
            self.h = torch.zeros(1, 3, hidden)

        def act(self, obs):
            h = self.h.to(obs.device, non_blocking=True).type_as(obs)
            out, h = self.gru(obs.unsqueeze(1), h)
            self.h = h.detach()
            return self.pi(out[:, -1])

        def end_episodes(self, done):
            if done.all():
                self.h.fill_(0.0)
            elif done.any():
                self.h[:, done] = 0.0

        def fresh_like(self):
            return self.h.new_zeros(self.h.shape)
"""

DRIVE_TYPE_AS = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    for t in range(6):
        logits = agent.act(torch.randn(3, 5))
        agent.end_episodes(torch.tensor([t == 1, t == 3, t == 3]) if t != 4 else torch.ones(3, dtype=torch.bool))
    out, _ = agent.gru(torch.randn(3, 2, 5), agent.fresh_like())
    (logits.pow(2).mean() + out.pow(2).mean()).backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_type_as_keeps_the_state(tmp_path, form):
    write(tmp_path, {"agent.py": TYPE_AS_AGENT, "driver.py": DRIVE_TYPE_AS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("form", FORMS)
def test_rows_written_through_a_view_stay_refused(tmp_path, capsys, form):
    # the rows reset would land in no half of a pair (a tuple has no `.view`): exit 0 and a crash
    # (written through `.data`, each half's `.data` is written: test_completed_refusals5.py)
    agent = TYPE_AS_AGENT.replace("self.h[:, done] = 0.0", "self.h.view(1, 3, -1)[:, done] = 0.0")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_TYPE_AS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:22:13: G2L100 the hidden state `self.h.view(1, 3, -1)` is written into by "
        "`self.h.view(1, 3, -1)[:, done] = ...`, a view the rewrite does not split per half; migrate this use by hand "
        "so that it handles the pair (h, c)"
    ) in capsys.readouterr().out


# a planner expands each environment's state into k candidates along the batch dimension, then keeps the best
PLANNER = """\
    import torch
    import torch.nn as nn


    class Planner(nn.Module):
        def __init__(self, hidden=8, k=3):
            super().__init__()
            self.cell = nn.GRUCell(2, hidden)
            self.value = nn.Linear(hidden, 1)
            self.k = k

        def plan(self, h, steps=2):
            n = h.shape[0]
            hk = h.EXPAND
            actions = torch.randn(n * self.k, 2)
            for _ in range(steps):
                hk = self.cell(actions, hk)
            scores = self.value(hk).view(n, self.k)
            best = scores.argmax(-1)
            chosen = hk.view(n, self.k, -1)[torch.arange(n), best]
            return chosen, scores.max(-1).values
"""

DRIVE_PLANNER = """\
    import torch
    from search import Planner

    torch.manual_seed(0)
    planner = Planner()
    h = torch.zeros(2, 8)
    for t in range(3):
        h, score = planner.plan(h)
        if t == 1:
            h = h * torch.tensor([[0.0], [1.0]])
    score.pow(2).mean().backward()
"""


@pytest.mark.parametrize("expand", ["repeat_interleave(self.k, dim=0)", "repeat_interleave(self.k, 0)", "repeat(self.k, 1)"])
@pytest.mark.parametrize("form", FORMS)
def test_a_pair_expanded_along_the_batch_into_a_split_name(tmp_path, form, expand):
    write(tmp_path, {"search.py": PLANNER.replace("EXPAND", expand), "driver.py": DRIVE_PLANNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


def test_repeat_interleave_along_the_last_dimension_stays_refused_packed(tmp_path, capsys):
    write(tmp_path, {"search.py": PLANNER.replace("EXPAND", "repeat_interleave(self.k, dim=-1)"), "driver.py": DRIVE_PLANNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert f"{tmp_path / 'search.py'}:14:14: G2L100" in capsys.readouterr().out


# the state comes back from helpers of the program (`reset_done`: a masked_fill of its argument): its
# rank (3) is followed through them, so indexing the environments (dim 1) is not the packed last dimension
TENSOROPS_POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, obs_dim=5, hidden=8):
            super().__init__()
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.hidden = hidden

        def initial(self, n):
            return torch.zeros(1, n, self.hidden)

        def forward(self, obs, h, done):
            h = torch.where(done.view(1, -1, 1), torch.zeros_like(h), h)
            out, h = self.gru(obs.unsqueeze(0), h)
            return self.pi(out[0]), h


    def reset_done(h, done):
        done_mask = done.view(1, -1, 1)
        return h.masked_fill(done_mask, 0.0)


    def reorder(h, idx):
        return h.index_select(1, idx)
"""

DRIVE_TENSOROPS = """\
    import torch
    from policy import Policy, reorder, reset_done

    torch.manual_seed(0)
    pol = Policy()
    h = pol.initial(4)
    done = torch.zeros(4, dtype=torch.bool)
    for t in range(6):
        logits, h = pol(torch.randn(4, 5), h, done)
        done = torch.rand(4) < 0.3
        h = reset_done(h, done)
        if t == 3:
            perm = torch.randperm(4)
            SHUFFLE
    logits.pow(2).mean().backward()
"""


@pytest.mark.parametrize("shuffle", ["h = h[:, perm]", "h = reorder(h, perm)"])
@pytest.mark.parametrize("form", FORMS)
def test_environments_reordered_after_a_helper_keep_their_rank(tmp_path, form, shuffle):
    write(tmp_path, {"policy.py": TENSOROPS_POLICY, "driver.py": DRIVE_TENSOROPS.replace("SHUFFLE", shuffle), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


def test_a_helper_indexing_the_last_dimension_stays_refused_packed(tmp_path, capsys):
    policy = TENSOROPS_POLICY.replace("h.index_select(1, idx)", "h.index_select(2, idx)")
    write(tmp_path, {"policy.py": policy, "driver.py": DRIVE_TENSOROPS.replace("SHUFFLE", "h = reorder(h, perm)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert f"{tmp_path / 'driver.py'}:14:13: G2L100 `reorder(h, perm)` acts along the last dimension" in capsys.readouterr().out


# environments mixed by an einsum over the batch dimension, rolled and flipped along it, rows filled
MORE_OPS_POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(5, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.hidden = hidden

        def initial(self, n):
            return torch.zeros(1, n, self.hidden)

        def forward(self, obs, h):
            out, h = self.gru(obs.unsqueeze(0), h)
            return self.pi(out[0]), h


    def mix_envs(h, mixing):
        return torch.einsum("lbh,bc->lch", h, mixing)


    def reset(h, done):
        return torch.where(done[None, :, None], 0.0, h)


    def rotate(h):
        return h.roll(1, dims=1).flip(1)


    def clear(h, idx):
        return h.index_fill(1, idx, 0.0)
"""

DRIVE_MORE_OPS = """\
    import torch
    from policy import Policy, clear, mix_envs, reset, rotate

    torch.manual_seed(0)
    pol = Policy()
    h = pol.initial(4)
    for t in range(6):
        logits, h = pol(torch.randn(4, 5), h)
        h = reset(h, torch.rand(4) < 0.3)
        if t == 2:
            h = mix_envs(h, torch.eye(4)[torch.randperm(4)])
        if t == 3:
            h = rotate(h)
        if t == 4:
            h = clear(h, torch.tensor([0]))
    logits.pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_einsum_over_environments_and_roll_along_them(tmp_path, form):
    write(tmp_path, {"policy.py": MORE_OPS_POLICY, "driver.py": DRIVE_MORE_OPS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("equation", ["lbh,hc->lbc", "lbh,bh->lbh", "lbh->lhb"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_einsum_across_the_hidden_dimension_stays_refused(tmp_path, capsys, equation, form):
    # a projection, a product along the hidden dimension or a transpose of it: not column by column
    mixing = {"lbh,hc->lbc": "torch.eye(8)", "lbh,bh->lbh": "torch.ones(4, 8)", "lbh->lhb": None}[equation]
    policy = MORE_OPS_POLICY.replace('"lbh,bc->lch", h, mixing', f'"{equation}", h' + (", mixing" if mixing else ""))
    driver = DRIVE_MORE_OPS.replace("torch.eye(4)[torch.randperm(4)]", mixing or "None")
    write(tmp_path, {"policy.py": policy, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert f"{tmp_path / 'policy.py'}:21:" in capsys.readouterr().out


# RLlib-style: get_initial_state() gives [h] of one sample; the driver repeats it for a batch (`[s] * B`)
RLLIB_MODEL = """\
    import torch
    import torch.nn as nn


    class RecurrentModel(nn.Module):
        def __init__(self, obs_dim=5, cell_size=8):
            super().__init__()
            self.cell_size = cell_size
            self.fc = nn.Linear(obs_dim, cell_size)
            self.gru = nn.GRU(cell_size, cell_size, batch_first=True)
            self.logits = nn.Linear(cell_size, 2)

        def get_initial_state(self):
            return [self.fc.weight.new_zeros(self.cell_size)]

        def forward(self, obs, state):
            x = torch.relu(self.fc(obs))
            out, h = self.gru(x, state[0].unsqueeze(0))
            return self.logits(out), [h.squeeze(0)]
"""

DRIVE_RLLIB = """\
    import torch
    from model import RecurrentModel

    torch.manual_seed(0)
    model = RecurrentModel()
    state = [torch.stack([model.get_initial_state()[0]] * 3)]
    for t in range(4):
        logits, state = model(torch.randn(3, 1, 5), state)
        done = torch.tensor([t == 2, False, False])
        init = model.get_initial_state()
        state = [torch.where(done.unsqueeze(-1), i.unsqueeze(0), s) for s, i in zip(state, init)]
    logits.pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_list_literal_repeated_is_a_list_of_its_elements(tmp_path, form):
    # tuple: each half stacked from the repeated element's half (`[init()[0][0]] * 3`), as a comprehension's element is
    write(tmp_path, {"model.py": RLLIB_MODEL, "driver.py": DRIVE_RLLIB, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "torch.stack([model.get_initial_state()[0][1]] * 3)" in (tmp_path / "driver.py").read_text()
    run_migrated(tmp_path, "import driver")
