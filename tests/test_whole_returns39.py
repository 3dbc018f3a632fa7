"""A batched state returned beside other values by a call whose result is taken whole (`update(model,
opt, buf.batch())`, `both = self.batch(x)`) and unpacked later: the return gives the pair `(h0, c0)`
in place. Before, the tuple form refused with G2L104 "returns a batched hidden state that grows to two
values" (the return grew by a partner no caller could receive): the seeds' SequenceBuffer style."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, size=6, hidden=8):
            super().__init__()
            self.gru = nn.GRU(size, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 3)
            self.hidden = hidden
            self.states = {}

        def initial(self, envs):
            return torch.zeros(1, envs, self.hidden)

        def forward(self, x, hidden):
            out, hidden = self.gru(x, hidden)
            return self.head(out), hidden

        def act(self, obs, env_id):
            hidden = self.states.get(env_id, self.initial(1))
            logits, hidden = self(obs.view(1, 1, -1), hidden)
            self.states[env_id] = hidden.detach()
            return logits.squeeze()
"""

BUFFER = """\
    import torch


    class SequenceBuffer:
        def __init__(self):
            self.open, self.sequences = {}, []

        def start(self, env_id, hidden):
            self.open[env_id] = {"obs": [], "h0": hidden.clone()}

        def add(self, env_id, obs):
            self.open[env_id]["obs"].append(obs)

        def finish(self, env_id):
            self.sequences.append(self.open.pop(env_id))

        def batch(self):
            obs = torch.stack([torch.stack(s["obs"]) for s in self.sequences])
            h0 = torch.cat([s["h0"] for s in self.sequences], dim=1)
            return obs, h0
"""

UPDATE = """\
    def update(model, optimizer, batch):
        obs, h0 = batch
        logits, _ = model(obs, h0.detach())
        loss = logits.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
"""

DRIVER = """\
    import torch
    from model import Policy
    from buffer import SequenceBuffer
    from update import update

    torch.manual_seed(0)
    model, buf = Policy(), SequenceBuffer()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for env_id in range(3):
        buf.start(env_id, model.states.get(env_id, model.initial(1)))
        for t in range(4):
            obs = torch.randn(6)
            model.act(obs, env_id)
            buf.add(env_id, obs)
        buf.finish(env_id)
    print(update(model, opt, buf.batch()))
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_batch_handed_on_whole_to_the_update_migrates_and_runs(tmp_path, capsys, form):
    write(tmp_path, {"model.py": MODEL, "buffer.py": BUFFER, "update.py": UPDATE, "driver.py": DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0, capsys.readouterr().out
    buffer = (tmp_path / "buffer.py").read_text()
    if form == "tuple":
        assert "return obs, (h0, c0)" in buffer
        assert "model(obs, (h0[0].detach(), h0[1].detach()))" in (tmp_path / "update.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py', run_name='__main__')")


def test_a_batch_taken_whole_and_read_by_index_migrates_and_runs(tmp_path, capsys):
    source = """\
        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(8, 16)
                self.memory = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.memory.append(h)
                return out, h

            def batch(self, x):
                h_states = torch.cat(self.memory, dim=1)
                return x, h_states

            def learn(self, x):
                both = self.batch(x)
                return self.gru(both[0], both[1])[0]


        agent = Agent()
        h = torch.zeros(1, 2, 16)
        for t in range(3):
            out, h = agent.act(torch.randn(1, 2, 8), h)
        agent.learn(torch.randn(1, 6, 8)).sum().backward()
    """
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0, capsys.readouterr().out
    assert "return x, (h_states, c_states)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")
