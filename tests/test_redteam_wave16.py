"""Red team, wave 16 (aimed at session 29's code: uncalled creators, held classes, cfg fields,
stacked columns, registered buffers, the added `import torch`, module globals): what the engine got
wrong there, each case migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ------------------------------------------- a creator called through an object whose class is not known
# The trainer holds its policy class in a class attribute with a default (not followed), so
# `self.policy(...)` is no call of forward() the engine sees, while `self.policy.zero(n)` is found
# by its method's name: forward() took (h, c) while zero() kept one tensor, exit 0, crash.
POLICIES = """\
    import torch
    import torch.nn as nn


    class RecurrentPolicy(nn.Module):
        def __init__(self, obs_dim, hidden=8):
            super().__init__()
            self.gru = nn.GRU(obs_dim, hidden)
            self.head = nn.Linear(hidden, 2)
            self.hidden = hidden

        def zero(self, n):
            return torch.zeros(1, n, self.hidden)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h
"""

TRAINER = """\
    from policies import RecurrentPolicy


    class Trainer:
        policy_cls = RecurrentPolicy

        def __init__(self, obs_dim, n, policy_cls=None):
            if policy_cls is not None:
                self.policy_cls = policy_cls
            make = self.policy_cls
            self.policy = make(obs_dim)
            self.memory = self.policy.zero(n)

        def act(self, obs):
            y, self.memory = self.policy(obs.unsqueeze(0), self.memory)
            return y
"""

DRIVE_TRAINER = """\
    import torch
    from trainer import Trainer

    trainer = Trainer(4, 2)
    for t in range(3):
        y = trainer.act(torch.randn(2, 4))
    y.pow(2).mean().backward()
"""


def test_an_object_made_by_a_class_handed_in_is_an_object_from_outside(tmp_path, capsys):
    # `self.policy_cls` read by `getattr`: `make(obs_dim)` is made by what came in, so
    # `self.policy(x, self.memory)` is a call of an object nothing identifies (read as
    # `self.policy_cls`, it is followed since session 30: test_completed_refusals5.py)
    trainer = TRAINER.replace("make = self.policy_cls", "make = getattr(self, 'policy_cls')")
    write(tmp_path, {"policies.py": POLICIES, "trainer.py": trainer, "driver.py": DRIVE_TRAINER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'trainer.py'}:15:26: G2L101 `self.policy(obs.unsqueeze(0), self.memory)` calls `self.policy`, an "
        "object from outside that nothing analysed identifies, passing what looks like a hidden state (it takes back "
        "what it passes, or passes a new tensor or a state where a changed parameter goes); if it is the module of "
        "`RecurrentPolicy.forward()`, which now takes or returns (h, c), this code would still pass and take one tensor; "
        "pass it the module from code given in the same run, or migrate this call by hand"
    ) in capsys.readouterr().out
    assert "self.gru = nn.GRU" in (tmp_path / "policies.py").read_text()


def test_a_creator_called_while_no_call_of_forward_is_found_is_refused(tmp_path, capsys):
    # the policy kept in a dict first: no object from outside, and still no call of forward() found
    # (its class attribute may be given None by a caller: not followed)
    trainer = TRAINER.replace(
        "self.policy = make(obs_dim)", 'self.policies = {"main": make(obs_dim)}\n            self.policy = self.policies["main"]'
    ).replace("            if policy_cls is not None:\n                self.policy_cls = policy_cls\n", "            self.policy_cls = policy_cls or self.policy_cls\n")
    write(tmp_path, {"policies.py": POLICIES, "trainer.py": trainer, "driver.py": DRIVE_TRAINER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'policies.py'}:13:16: G2L101 `RecurrentPolicy.zero()` returns `torch.zeros(1, n, self.hidden)`, "
        "a new tensor shaped like the hidden state, which code here takes, but no call of `RecurrentPolicy.forward()` "
        "was found, whose parameter `h` becomes (h, c): the call that hands the one to the other goes through an object "
        "whose class is not known (held in a way the analysis does not follow) and would pass one tensor; migrate that "
        "call by hand, or make the object from its class by name"
    ) in capsys.readouterr().out
    assert "self.gru = nn.GRU" in (tmp_path / "policies.py").read_text()


def test_the_same_creator_with_forward_called_on_an_object_of_its_class_migrates(tmp_path):
    trainer = TRAINER.replace("        policy_cls = RecurrentPolicy\n\n", "").replace(
        "policy_cls=None):\n            if policy_cls is not None:\n                self.policy_cls = policy_cls\n",
        "policy_cls=RecurrentPolicy):\n            self.policy_cls = policy_cls\n",
    )
    write(tmp_path, {"policies.py": POLICIES, "trainer.py": trainer, "driver.py": DRIVE_TRAINER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


# ------------------------------------------- an initial_state() inherited from a base class
# forward() of the subclass took (h, c) while the base's initial_state() kept one tensor: exit 0
# with only the G2L202 warning, and a caller elsewhere doing `net(x, net.initial_state(2))` crashed.
INHERITED = """\
    import torch
    import torch.nn as nn


    class Recurrent(nn.Module):
        hidden = 8

        def initial_state(self, batch_size):
            return torch.zeros(1, batch_size, self.hidden)


    class Net(Recurrent):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, self.hidden)

        def forward(self, x, h):
            return self.gru(x, h)
"""


def test_an_uncalled_initial_state_inherited_from_a_base_is_refused(tmp_path, capsys):
    write(tmp_path, {"lib.py": INHERITED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'lib.py'}:9:16: G2L101 `Recurrent.initial_state()` returns `torch.zeros(1, batch_size, self.hidden)`, "
        "a new tensor shaped like the hidden state, but no code of the project calls it or `Net.forward()`, whose "
        "parameter `h` becomes (h, c): a caller that hands the one to the other would pass one tensor; give the files "
        "that call them in the same run (a script that does is enough)"
    ) in capsys.readouterr().out
    assert "nn.GRU" in (tmp_path / "lib.py").read_text()


def test_an_inherited_initial_state_called_with_forward_is_paired_and_runs(tmp_path):
    drive = """\
        import torch
        from lib import Net

        net = Net()
        h = net.initial_state(2)
        for t in range(3):
            out, h = net(torch.randn(1, 2, 4), h)
        out.sum().backward()
    """
    write(tmp_path, {"lib.py": INHERITED, "driver.py": drive, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")
