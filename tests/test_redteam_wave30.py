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


# statements after a colon on the line of an `if` or a `for`, which the walk of the program skipped
ONE_LINERS = """\
    import torch
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self, obs=3, hidden=4):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.store = torch.zeros(5, 1, 2, hidden)

        def forward(self, xs, h=None):
            if h is None: h = torch.zeros(1, xs.shape[1], self.hidden)
            for x in xs: y, h = self.gru(x.unsqueeze(0), h)
            return self.pi(y[0]), h

        def keep(self, t, h):
            if t < 5: self.store[t] = h  # kept
            if t == 2: h = h * 0.0; h = h.detach()
            return self.store[t - 1] if t > 0 else h
"""

ONE_LINERS_DRIVER = """\
    import torch

    from model import Core

    core = Core()
    h = None
    for t in range(4):
        logits, h = core(torch.randn(3, 2, 3), h)
        loss = logits.pow(2).mean()
        with torch.no_grad():
            h = core.keep(t, h.detach()).clone()
    loss.backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_states_made_stored_and_updated_after_a_colon_migrate_and_run(tmp_path, form):
    # exit 0 and a crash: `if h is None: h = torch.zeros(1, B, H)` was not seen (packed: left H wide;
    # tuple: exit 123), nor `if t < 5: self.store[t] = h`
    write(tmp_path, {"model.py": ONE_LINERS, "driver.py": ONE_LINERS_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
    migrated = (tmp_path / "model.py").read_text()
    if form == "tuple":
        assert "        if t < 5:\n            self.store[0][t] = h[0]\n            self.store[1][t] = h[1]  # kept\n" in migrated
    else:
        assert "        if h is None: h = torch.zeros(1, xs.shape[1], 2 * self.hidden)\n" in migrated


def test_a_packed_recurrent_call_after_a_colon_with_another_statement_is_refused(tmp_path, capsys):
    # the packed state is made again right after the call: there is no line for it between the two
    model = ONE_LINERS.replace("for x in xs: y, h = self.gru(x.unsqueeze(0), h)", "for x in xs: y, h = self.gru(x.unsqueeze(0), h); y = y + 1")
    write(tmp_path, {"model.py": model, "driver.py": ONE_LINERS_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path / "model.py"), str(tmp_path / "driver.py")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'model.py'}:15:29: G2L100 the packed form needs the state of `self.gru(x.unsqueeze(0), h)` "
        "unpacked in a statement of its own; split the statement, or use --state tuple"
    )


# A3C workers hand their gradients to a shared model (the line after a colon is walked now)
SHARED_GRADIENTS = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRUCell(3, 4)
            self.v = nn.Linear(4, 1)

        def forward(self, inputs):
            x, hx = inputs
            hx = self.gru(x, hx)
            return self.v(hx), hx


    def train(model, shared):
        hx = torch.zeros(1, 4)
        for t in range(3):
            v, hx = model((torch.randn(1, 3), hx))
        v.sum().backward()
        for param, shared_param in zip(model.parameters(), shared.parameters()):
            if shared_param.grad is None: shared_param._grad = param.grad
        assert shared.v.weight.grad is not None


    train(Net(), Net())
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_the_gradient_of_a_parameter_beside_a_state_migrates_and_runs(tmp_path, form):
    # G2L100 "`param.grad` reads the gradient of the hidden state": the gradient check ran before
    # asking whether the value read is a state
    write(tmp_path, {"a3c.py": SHARED_GRADIENTS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('a3c.py')")


def test_the_last_size_of_a_packed_state_unpacked_and_used_for_what_is_no_state_is_refused(tmp_path, capsys):
    # exit 0: `H` of `L, B, H = h.shape` is 2H in the packed form, where the GRU program cut `x` at H
    check = "L, B, H = h.shape; x = x[:, :H]"
    write(tmp_path, {"model.py": CHECKED.format(check=check), "driver.py": DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path / "model.py"), str(tmp_path / "driver.py")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'model.py'}:13:19: G2L100 `h.shape` reads the sizes of the packed state, the last of which is twice "
        "the hidden size now, and `H`, which holds it, is used at line 13 for something that is no state, which took the "
        "hidden size; read the hidden size from the module (`hidden_size`), or use --state tuple"
    )


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("check", ["L, B, H = h.shape; z = torch.zeros(L, B, H); h = h + z", "L, B, _ = h.shape; x = x[:B]"])
def test_sizes_unpacked_from_a_state_that_make_a_state_migrate_and_run(tmp_path, form, check):
    # packed: exit 0 and a crash, `torch.zeros(L, B, 2 * H)` doubled the size read from the packed state again;
    # tuple: exit 123, `h.shape` of the pair was left as it was
    write(tmp_path, {"model.py": CHECKED.format(check=check), "driver.py": DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# a model written with one-line methods, driven with one-line `with`, `if`/`elif`/`else` and `try`
ONE_LINE_METHODS = """\
    import torch
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self, obs=3, hidden=4):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs, hidden)
            self.pi = nn.Linear(hidden, 2)

        def blank(self, n): return torch.zeros(1, n, self.hidden)

        def step(self, x, h): return self.gru(x.unsqueeze(0), h)

        def forward(self, x, h):
            y, h = self.step(x, h)
            return self.pi(y[0]), h
"""

ONE_LINE_DRIVER = """\
    import torch

    from model import Core

    core = Core()
    h = core.blank(2)
    kept = []
    for t in range(5):
        with torch.no_grad(): logits, h = core(torch.randn(2, 3), h)
        if t == 2: h = core.blank(2)
        elif t == 3: h = h * 0.5
        else: kept.append(h)
        try: last = kept[-1]
        except IndexError: last = core.blank(2)
    logits, _ = core(torch.randn(2, 3), last)
    logits.pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_one_line_methods_and_blocks_migrate_and_run(tmp_path, form):
    # G2L101 "none of its calls is in the files analysed": `def step(self, x, h): return self.gru(x, h)`
    # was not walked; packed, its return is unpacked and packed again in a block of its own
    write(tmp_path, {"model.py": ONE_LINE_METHODS, "driver.py": ONE_LINE_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
    if form == "packed":
        assert (
            "    def step(self, x, h):\n        output, hxs = self.lstm(x.unsqueeze(0), h.chunk(2, dim=-1))\n"
            "        return output, torch.cat(hxs, dim=-1)\n"
        ) in (tmp_path / "model.py").read_text()
