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


# a state's last size read for something that is no state, and for a new state
SIZES_READ = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(3, 4)
            self.pi = nn.Linear(4, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h


    def blank_like(h):
        return torch.zeros(h.shape[0], h.shape[-1])
    {widen}
"""

SIZES_READ_DRIVER = """\
    import torch

    import model

    policy = model.Policy()
    h = torch.zeros(2, 4)
    for t in range(3):
        logits, h = policy(torch.randn(2, 3), h)
        if t == 1:
            h = model.blank_like(h)
    {widen}
    logits.sum().backward()
"""

WIDEN = """
    def widen(h, to):
        return F.pad(h, (0, to - h.shape[-1]))
"""


def test_the_last_size_of_a_packed_state_read_for_what_is_no_state_is_refused(tmp_path, capsys):
    # `to - h.shape[-1]` was 2H in the packed form: the features came out cut instead of padded (exit 0)
    write(tmp_path, {
        "model.py": SIZES_READ.format(widen=WIDEN),
        "driver.py": SIZES_READ_DRIVER.format(widen="assert model.widen(h, 6).shape == (2, 6)"),
        "pyproject.toml": "",
    })
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(f"G2L105 not migrated: {tmp_path / 'model.py'} shares hidden states with this file and needs attention; resolve its findings first")
    assert lines[1] == (
        f"{tmp_path / 'model.py'}:21:30: G2L100 `h.shape[-1]` reads the last size of the packed state, which is twice "
        "the hidden size now, and it is used here for something that is no state, which took the hidden size; read "
        "the hidden size from the module (`hidden_size`), or use --state tuple"
    )


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_allocated_with_the_last_size_of_a_state_migrates_and_runs(tmp_path, form):
    write(tmp_path, {"model.py": SIZES_READ.format(widen=""), "driver.py": SIZES_READ_DRIVER.format(widen=""), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_the_last_size_of_a_state_read_for_features_migrates_in_the_tuple_form(tmp_path):
    write(tmp_path, {
        "model.py": SIZES_READ.format(widen=WIDEN),
        "driver.py": SIZES_READ_DRIVER.format(widen="assert model.widen(h, 6).shape == (2, 6)"),
        "pyproject.toml": "",
    })
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
