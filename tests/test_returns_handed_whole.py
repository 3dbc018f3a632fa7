"""A batch whose return grows by c in the tuple form (`return obs, h0` -> `obs, h0, c0`), handed
whole to a function that only unpacks it (the seeds' SequenceBuffer style:
`update_recurrent(model, opt, buf.batch())` with `obs, ..., h0 = batch` inside), was refused
(G2L104, "unpack it where it is called"): that return now keeps its length and returns the pair
`(h0, c0)` in the state's place, so the unpacking inside takes it whole (session 41, issue 13;
/work/scratch/rt32/projects/h01_dual_head_ppo). A return taken whole any other way still grows and
is refused where it is taken."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_crossings import snapshot
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, obs_dim=5, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs_dim, hidden, batch_first=True)
            self.pi = nn.Linear(hidden, 3)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, n=1):
            return torch.zeros(1, n, self.hidden)

        def forward(self, obs, h):
            out, h = self.gru(obs, h)
            return self.pi(out), self.v(out).squeeze(-1), h
"""

BUFFER = """\
    import torch


    class SequenceBuffer:
        def __init__(self):
            self.rows = []

        def add(self, obs, h0):
            self.rows.append({"obs": obs, "h0": h0.detach().clone()})

        def batch(self):
            obs = torch.stack([row["obs"] for row in self.rows])
            h0 = torch.cat([row["h0"] for row in self.rows], dim=1)
            return obs, h0
"""

UPDATE = """\
    def update(model, opt, batch):
        UNPACK
        logits, values, _ = model(obs, h0)
        loss = logits.logsumexp(-1).mean() + values.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
"""

TRAIN = """\
    import torch
    from model import Policy
    from buffer import SequenceBuffer
    from update import update

    torch.manual_seed(0)
    model = Policy()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    buf = SequenceBuffer()
    for episode in range(3):
        h = model.init_hidden()
        start = h
        seq = []
        for t in range(4):
            obs = torch.randn(1, 1, 5)
            with torch.no_grad():
                logits, value, h = model(obs, h)
            seq.append(obs[0, 0])
        buf.add(torch.stack(seq), start)
        buf.add(torch.stack(seq), h)
    CALL
"""


def _project(folder, unpack: str, call: str) -> None:
    write(folder, {
        "model.py": MODEL, "buffer.py": BUFFER, "update.py": UPDATE.replace("UNPACK", unpack),
        "train.py": TRAIN.replace("CALL", call), "pyproject.toml": "",
    })


HANDED = {
    "unpacked inside": ("obs, h0 = batch", "print(update(model, opt, buf.batch()))"),
    "unpacked inside by keyword": ("obs, h0 = batch", "print(update(model, opt, batch=buf.batch()))"),
    "unpacked inside, and where another call is made": (
        "obs, h0 = batch", "obs, h0 = buf.batch()\n    print(update(model, opt, buf.batch()), model(obs, h0)[2].shape)"),
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("case", sorted(HANDED))
def test_a_batch_handed_whole_to_a_function_that_unpacks_it_migrates(tmp_path, case, form):
    unpack, call = HANDED[case]
    _project(tmp_path, unpack, call)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert ("return obs, (h0, c0)" if form == "tuple" else "return obs, h0\n") in (tmp_path / "buffer.py").read_text()
    run_migrated(tmp_path, "import train")


# taken whole another way: the return grows, and the call that does not unpack it is refused
TAKEN = {
    "indexed inside": ("obs, h0 = batch[0], batch[1]", "update(model, opt, buf.batch())"),
    "kept in a name first": ("obs, h0 = batch", "res = buf.batch()\n    update(model, opt, res)"),
    "copied into a tuple": ("obs, h0 = batch", "update(model, opt, tuple(buf.batch()))"),
    "iterated inside": ("obs, h0 = [item for item in batch]", "update(model, opt, buf.batch())"),
}


@pytest.mark.parametrize("case", sorted(TAKEN))
def test_a_batch_taken_whole_otherwise_is_refused(tmp_path, capsys, case):
    unpack, call = TAKEN[case]
    _project(tmp_path, unpack, call)
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert any("train.py:21:" in line and "G2L104 `buf.batch()` returns a batched hidden state that grows to two values" in line
               for line in out.splitlines()), out
    assert snapshot(tmp_path) == before
