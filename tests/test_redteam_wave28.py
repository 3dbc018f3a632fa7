"""Red team wave 28 (`/work/scratch/rt28`): silent breaks found there, each now migrated and run,
or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(3, 4)
            self.pi = nn.Linear(4, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""

# the last size of the state held in a name, then used
HELD_SIZE_DRIVER = """\
    import torch
    import torch.nn.functional as F

    import model

    policy = model.Policy()
    h = torch.zeros(2, 4)
    for t in range(3):
        logits, h = policy(torch.randn(2, 3), h)
    size = h.size(-1)
    {use}
    logits.sum().backward()
"""

NO_STATE_USES = [
    "assert F.pad(torch.ones(2, 2), (0, 6 - size)).shape == (2, 4)",
    "assert torch.ones(2, 10)[..., :size].shape == (2, 4)",
    "assert torch.nn.Linear(size, 3)(torch.ones(1, 4)).shape == (1, 3)",
    "assert torch.ones(4, 2).view(-1, size).shape == (2, 4)",
    "noise = torch.zeros(2, size); assert noise.shape == (2, 4)",
]


@pytest.mark.parametrize("use", NO_STATE_USES)
def test_the_last_size_of_a_packed_state_held_in_a_name_used_for_what_is_no_state_is_refused(tmp_path, capsys, use):
    # `size` was 2H in the packed form: the program ran with features cut, a layer too wide (exit 0)
    write(tmp_path, {"model.py": POLICY, "driver.py": HELD_SIZE_DRIVER.format(use=use), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"{tmp_path / 'driver.py'}:10:8: G2L100 `h.size(-1)` reads the last size of the packed state, which is twice "
        "the hidden size now, and `size`, which holds it, is used at line 11 for something that is no state, which "
        "took the hidden size; read the hidden size from the module (`hidden_size`), or use --state tuple"
    )


@pytest.mark.parametrize("use", NO_STATE_USES)
def test_the_last_size_of_a_state_held_in_a_name_migrates_in_the_tuple_form(tmp_path, use):
    write(tmp_path, {"model.py": POLICY, "driver.py": HELD_SIZE_DRIVER.format(use=use), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


STATE_USES = [
    "h = torch.zeros(2, size); logits, h = policy(torch.randn(2, 3), h)",
    "logits, h = policy(torch.randn(2, 3), torch.zeros(2, size))",
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("use", STATE_USES)
def test_the_last_size_of_a_state_held_in_a_name_that_sizes_a_new_state_migrates_and_runs(tmp_path, form, use):
    # packed, `torch.zeros(2, size)` became `2 * size` (4H) although `size` was read from the packed state
    write(tmp_path, {"model.py": POLICY, "driver.py": HELD_SIZE_DRIVER.format(use=use), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


GRADIENT_MODEL = """\
    import torch
    import torch.nn as nn


    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 5)
            self.head = nn.Linear(5, 1)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h
"""

GRADIENT_DRIVER = """\
    import torch

    from model import Model

    m = Model()
    h = torch.zeros(1, 2, 5, requires_grad=True)
    y, h1 = m(torch.randn(4, 2, 3), h)
    (y.sum() + h1.sum()).backward()
    {read}
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("read", ["assert h.grad is not None", "g = h.grad.clamp(-1, 1)"])
def test_the_gradient_of_a_state_read_is_refused(tmp_path, capsys, form, read):
    # packed: `h.chunk(2, dim=-1)[0].grad` of a view is None (exit 0, a crash); tuple: `h.grad` of the
    # pair was left as it was (`h.grad is None` taken for a test of the state), exit 123
    write(tmp_path, {"model.py": GRADIENT_MODEL, "driver.py": GRADIENT_DRIVER.format(read=read), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    column = read.index("h.grad") + 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'driver.py'}:9:{column}: G2L100 `h.grad` reads the gradient of the hidden state; the LSTM's state "
        "is the pair (h, c), each half with its own gradient (packed: side by side in one), so the engine cannot tell "
        "which one this code wants; use the gradient of h by hand (`h[0].grad` of the pair, `h.grad.chunk(2, "
        "dim=-1)[0]` of the packed state)"
    )


ZONEOUT = """\
    import torch
    import torch.nn as nn


    class ZoneoutCell(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(3, 5)
            self.head = nn.Linear(5, 2)

        def forward(self, x, h):
            new = self.cell(x, h)
            if self.training:
                keep = torch.bernoulli(torch.full((h.size(0), 1), 0.5))
                new = keep * h + (1 - keep) * new
            return self.head(new), new
"""

ZONEOUT_DRIVER = """\
    import torch

    from model import ZoneoutCell

    m = ZoneoutCell()
    h = torch.zeros(2, 5)
    for t in range(4):
        y, h = m(torch.randn(2, 3), h)
    y.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_zoneout_mix_bound_to_the_split_cell_output_migrates_and_runs(tmp_path, form):
    # tuple: `new, new_c = self.cell(x, h)` then `new = (keep * h[0] + ..., keep * h[1] + ...)`: the pair
    # landed in the h name and the head got it (exit 0, a crash)
    write(tmp_path, {"model.py": ZONEOUT, "driver.py": ZONEOUT_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "new, new_c = (keep * h[0] + (1 - keep) * new, keep * h[1] + (1 - keep) * new_c)" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
