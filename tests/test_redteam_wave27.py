"""Red team wave 27 (`/work/scratch/rt27`, world models, stored-state refresh, datasets, ModuleDicts
of cores, rings, checkpoints, env wrappers that hold the state, masked resets): silent breaks found
there, each now migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# an actor and a critic core in a ModuleDict; their first states made by a dict comprehension over
# the ModuleDict's keys, their next ones written key by key
DICT_OF_CORES = """\
    import torch
    import torch.nn as nn


    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.cores = nn.ModuleDict({{"actor": nn.GRU(3, 5), "critic": nn.GRU(3, 5)}})
            self.pi = nn.Linear(5, 2)
            self.v = nn.Linear(5, 1)

        def init_states(self, n):
            return {{k: torch.zeros(1, n, 5) for k in {keys}}}

        def forward(self, x, states):
            new = {{}}
            a, new["actor"] = self.cores["actor"](x, states["actor"])
            c, new["critic"] = self.cores["critic"](x, states["critic"])
            return self.pi(a), self.v(c), new
"""

DICT_OF_CORES_DRIVER = """\
    import torch

    from nets import ActorCritic

    model = ActorCritic()
    states = model.init_states(2)
    for t in range(3):
        logits, value, states = model(torch.randn(1, 2, 3), states)
    (logits.sum() + value.sum()).backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("keys", ["self.cores", '("actor", "critic")'])
def test_states_made_by_a_dict_comprehension_and_read_by_constant_keys_migrate_and_run(tmp_path, form, keys):
    # the comprehension's element was not joined with `new["actor"]`: it stayed one tensor (exit 0)
    # and the LSTM got it as its state
    write(tmp_path, {"nets.py": DICT_OF_CORES.format(keys=keys), "driver.py": DICT_OF_CORES_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_a_dict_comprehension_over_other_literal_keys_stays_apart_from_the_state(tmp_path):
    # `{k: torch.zeros(()) for k in ("loss", "ret")}` cannot make the key "hidden": its values are no state
    write(tmp_path, {"pyproject.toml": "", "driver.py": """\
        import torch
        import torch.nn as nn

        gru = nn.GRU(3, 4)
        stats = {k: torch.zeros(()) for k in ("loss", "ret")}
        stats["hidden"] = torch.zeros(1, 2, 4)
        for t in range(3):
            y, stats["hidden"] = gru(torch.randn(1, 2, 3), stats["hidden"])
            stats["loss"] = stats["loss"] + y.pow(2).mean()
        stats["loss"].backward()
    """})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")

