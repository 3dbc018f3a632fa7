"""What a lambda or a nested function reads from around it through an attribute (`self.h`,
`self.gru.hidden_size`): the walk does not follow that code, so a state read there is a finding,
and a renamed module is renamed there too. Only the bare names read there were seen before: the
lambda's `self.h` stayed one tensor's code (exit 0, crash) and its `self.gru` was left unrenamed."""

from __future__ import annotations

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched
from test_redteam_wave17 import RECORD_AGENT

SIZED_BY_LAMBDA = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.width = lambda: self.gru.hidden_size

        def initial_state(self, batch):
            return torch.zeros(1, batch, self.width())

        def forward(self, obs, h):
            out, h = self.gru(obs.unsqueeze(0), h)
            return self.pi(out[0]), h
"""

DRIVE_POLICY = """\
    import torch
    from model import Policy

    net = Policy()
    h = net.initial_state(3)
    for t in range(4):
        logits, h = net(torch.randn(3, 4), h)
    logits.pow(2).mean().backward()
"""


def test_a_module_read_inside_a_lambda_is_renamed_with_it(tmp_path):
    write(tmp_path, {"model.py": SIZED_BY_LAMBDA, "driver.py": DRIVE_POLICY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "self.width = lambda: self.lstm.hidden_size" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# wave 17's agent whose memory() returns a record of its state, here made by a lambda
MEMORY_BY_LAMBDA = RECORD_AGENT.replace("return Memory(self.h, self.t)", "return lambda: Memory(self.h, self.t)")


def test_a_state_read_inside_a_lambda_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"agent.py": MEMORY_BY_LAMBDA, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:25:31: G2L100 the hidden state `self.h` is used inside `lambda: Memory(self.h, self.t)`; "
        "migrate this use by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out
    assert "nn.GRUCell" in (tmp_path / "agent.py").read_text()


def test_a_state_read_through_a_method_inside_a_nested_function_is_a_finding(tmp_path, capsys):
    nested = MEMORY_BY_LAMBDA.replace(
        "return lambda: Memory(self.h, self.t)", "def norm():\n                return float(self.h.norm())\n\n            return norm"
    )
    write(tmp_path, {"agent.py": nested, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:26:26: G2L100 the hidden state `self.h` is used inside the nested function `norm()`; "
        "migrate this use by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out


# The state read inside code the walk does not follow, under a name some code inside it binds for
# itself (a lambda's parameter, a comprehension's target): that binding shadows it there only, so
# the read of the state beside it is still one (it was taken for the inner name: exit 0, crash).
SHADOWED_INSIDE = {
    "nested function": """\
        def memory(self):
            h = self.h

            def norm():
                double = lambda h: h * 2
                return float(double(h).norm())

            return norm
""",
    "lambda": """\
        def memory(self):
            h = self.h
            return lambda: float(h.norm()) + sum(float(h.sum()) for h in [torch.ones(2)])
""",
}


def test_a_name_bound_by_inner_code_does_not_hide_the_state_read_beside_it(tmp_path, capsys):
    for kind, memory in SHADOWED_INSIDE.items():
        project = tmp_path / kind.replace(" ", "_")
        agent = RECORD_AGENT.replace("        def memory(self):\n            return Memory(self.h, self.t)\n", memory)
        assert agent != RECORD_AGENT
        write(project, {"agent.py": agent, "pyproject.toml": ""})
        assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1, kind
        out = capsys.readouterr().out
        assert "G2L100 the hidden state `h` is used inside" in out, (kind, out)
        assert "nn.GRUCell" in (project / "agent.py").read_text()
