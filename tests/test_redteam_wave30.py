"""Red team wave 30 (`/work/scratch/rt30`): styles not tried before, each migrated and run, or
refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# a model that checks the shape of the state it is given
CHECKED = """\
    import torch
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self, obs=3, hidden=4):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs, hidden)
            self.pi = nn.Linear(hidden, 2)

        def forward(self, x, h):
            {check}
            y, h = self.gru(x.unsqueeze(0), h)
            return self.pi(y[0]), h
"""

DRIVER = """\
    import torch

    from model import Core

    core = Core()
    h = torch.zeros(1, 2, 4)
    for t in range(3):
        with torch.no_grad():
            logits, h = core(torch.randn(2, 3), h)
        if t == 1:
            h = torch.zeros(1, 2, 4)
    logits, h = core(torch.randn(2, 3), h)
    logits.pow(2).mean().backward()
"""

# (the check, the expression reported, what the finding says after it)
LAST_SIZE = (
    "reads the last size of the packed state, which is twice the hidden size now, and it is used here for something "
    "that is no state, which took the hidden size; read the hidden size from the module (`hidden_size`), or use "
    "--state tuple"
)
SIZES = (
    "reads the sizes of the packed state, the last of which is twice the hidden size now, and they are compared here "
    "with sizes that took the hidden size; compare the sizes of h alone (`h.chunk(2, dim=-1)[0].shape`), or use "
    "--state tuple"
)
CHECKS = [
    ("assert h.shape == (1, x.shape[0], self.hidden)", "h.shape", SIZES),
    ("assert h.size() == torch.Size([1, x.shape[0], self.hidden])", "h.size()", SIZES),
    ("assert tuple(h.shape) == (1, x.shape[0], self.hidden)", "h.shape", SIZES),
    ("assert h.shape[1:] == (x.shape[0], self.hidden)", "h.shape[1:]", SIZES),
    ("if h.shape != (1, x.shape[0], self.hidden): h = torch.zeros(1, x.shape[0], self.hidden)", "h.shape", SIZES),
    ("assert h.shape[2] == self.hidden", "h.shape[2]", LAST_SIZE),
    ("assert h.size(2) == self.hidden", "h.size(2)", LAST_SIZE),
    ("assert h[-1].shape[1] == self.hidden", "h[-1].shape[1]", LAST_SIZE),
]


@pytest.mark.parametrize("check, read, finding", CHECKS)
def test_a_packed_state_whose_shape_is_checked_against_the_hidden_size_is_refused(tmp_path, capsys, check, read, finding):
    # exit 0 and a crash (or another branch taken): the packed state's last size is 2H, where the
    # check, written for the GRU's state, says H; only `h.shape[-1]` and `h.size(-1)` were seen
    write(tmp_path, {"model.py": CHECKED.format(check=check), "driver.py": DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path / "model.py"), str(tmp_path / "driver.py")]) == 1
    column = 9 + check.index(read)  # the check is indented by 8
    assert capsys.readouterr().out.splitlines()[0] == f"{tmp_path / 'model.py'}:13:{column}: G2L100 `{read}` {finding}"


@pytest.mark.parametrize("check", [check for check, _, _ in CHECKS])
def test_a_state_whose_shape_is_checked_migrates_and_runs_in_the_tuple_form(tmp_path, check):
    # the check reads h's shape, the shape of each half
    write(tmp_path, {"model.py": CHECKED.format(check=check), "driver.py": DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


@pytest.mark.parametrize("check", ["assert h.shape[1] == x.shape[0]", "assert h.shape[:2] == (1, x.shape[0])", "print(h.shape)"])
def test_a_packed_state_whose_other_sizes_are_read_migrates_and_runs(tmp_path, check):
    # the batch and layer sizes are the GRU's; a shape printed is only looked at
    write(tmp_path, {"model.py": CHECKED.format(check=check), "driver.py": DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
