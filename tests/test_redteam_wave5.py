"""Red team, wave 5 (our own small projects in the styles of separate actor and critic nets,
packed variable-length sequences, histories of states, trainers with hooks and callbacks, and
hierarchical agents): what the engine got wrong there, each case migrated and run, or refused
with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched
from test_redteam_wave3b import snapshot

# ---------------------------------------------------------------- a buffer whose method is named like a tensor's
NETS = """\
    import torch
    import torch.nn as nn


    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.actor = nn.GRU(4, 8)
            self.critic = nn.GRU(4, 6)

        def blank(self, n):
            return torch.zeros(1, n, 8), torch.zeros(1, n, 6)

        def step(self, x, hxs):
            actor_h, critic_h = hxs
            _, actor_h = self.actor(x, actor_h)
            _, critic_h = self.critic(x, critic_h)
            return actor_h, critic_h
"""

BUFFER = """\
    import torch


    class Buffer:
        def __init__(self, steps, n):
            self.hxs = {"pi": torch.zeros(steps, 1, n, 8), "vf": torch.zeros(steps, 1, n, 6)}
            self.pos = 0

        def add(self, hxs):
            self.hxs["pi"][self.pos] = hxs[0]
            self.hxs["vf"][self.pos] = hxs[1]
            self.pos += 1

        def first(self):
            return self.hxs["pi"][0], self.hxs["vf"][0]
"""

COLLECT = """\
    import torch

    from buffer import Buffer
    from nets import Pair


    def collect(net, buf, hxs, steps=3):
        for _ in range(steps):
            buf.add(hxs)
            hxs = net.step(torch.randn(1, 2, 4), hxs)
        return hxs


    def main():
        net = Pair()
        buf = Buffer(3, 2)
        hxs = collect(net, buf, net.blank(2))
        net.step(torch.randn(1, 2, 4), buf.first())
        return hxs
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_buffer_method_named_add_is_a_method_of_the_buffer_not_a_tensor_join(tmp_path, form):
    # `buf.add(hxs)` was read as the tensor method `buf.add(other)`: buffer.py stayed as it was,
    # exit 0, and storing a pair into its tensors failed.
    write(tmp_path, {"pyproject.toml": "", "nets.py": NETS, "buffer.py": BUFFER, "collect.py": COLLECT})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    stored = 'self.hxs["pi"][0][self.pos] = hxs[0][0]' if form == "tuple" else 'torch.zeros(steps, 1, n, 2 * 8)'
    assert stored in (tmp_path / "buffer.py").read_text()
    run_migrated(tmp_path, "import collect\ncollect.main()\n")


def test_a_tensor_join_whose_result_is_used_is_still_a_join(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "net.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRU(4, 8)

            def run(self, x):
                h = h_old = torch.zeros(1, 2, 8)
                for _ in range(3):
                    _, h = self.core(x, h)
                    h = h.add(h_old)
                return h
    """})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (h[0].add(h_old[0]), h[1].add(h_old[1]))" in (tmp_path / "net.py").read_text()
