"""Packed form: dimensions judged with what is known at each place (session 25, issue 13).

A helper's way back (`def to_env_major(t): return t.transpose(0, 1)...`) is judged at each call
with the rank of the argument passed there: dimension 1 of a 3-D state is not its last one, of a
2-D state it is. Each case is our own small program, migrated and run (every LSTM gets a pair, some
c non-zero), or refused with the finding that names the place."""

from __future__ import annotations

import libcst as cst
import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a helper judged with its argument's rank
LEARNER = """\
    import torch
    import torch.nn as nn


    def flat_by_env(t):
        return t.transpose(0, 1).reshape(-1, *t.shape[2:]){tail}


    class Core(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)

        def forward(self, x, s):
            out, s = self.rnn(x.unsqueeze(0), s.unsqueeze(0))
            return out.squeeze(0), s.squeeze(0)


    def train(steps=6, envs=3):
        core = Core()
        store = {{"obs": torch.zeros(steps, envs, 4), "state": torch.zeros(steps, envs, 8)}}
        s = torch.zeros(envs, 8)
        for t in range(steps):
            x = torch.randn(envs, 4)
            store["obs"][t] = x
            store["state"][t] = s
            _, s = core(x, s)
            s = s * (torch.rand(envs, 1) > 0.2).float()
        {read}
        _, s = core(obs[:envs], first[:envs])
        return s
"""
DIRECT = 'obs, first = flat_by_env(store["obs"]), flat_by_env(store["state"])'
KEYED = 'flat = {{}}\n        for key in store:\n            flat[key] = flat_by_env(store[key])\n        obs, first = flat["obs"], flat["state"]'


def _learner(tail: str, read: str) -> str:
    return LEARNER.replace("{read}", read).replace("{tail}", tail).replace("{{", "{").replace("}}", "}")


@pytest.mark.parametrize("read", [DIRECT, KEYED], ids=["direct", "keyed"])
def test_a_helper_transposing_batch_dimensions_of_a_3d_state_migrates_packed(tmp_path, read):
    # Was G2L100 (direct) or G2L101 (keyed read): inside the helper the rank is not known, so
    # `transpose(0, 1)` might have moved the last dimension; the argument is 3-D at the call.
    write(tmp_path, {"pyproject.toml": "", "learner.py": _learner("", read)})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    text = (tmp_path / "learner.py").read_text()
    assert '"state": torch.zeros(steps, envs, 2 * 8)' in text
    run_migrated(tmp_path, "import learner\nlearner.train()\n")


@pytest.mark.parametrize("tail", [".flip(-1)", ".flip(1)"])
@pytest.mark.parametrize("read", [DIRECT, KEYED], ids=["direct", "keyed"])
def test_a_helper_acting_along_the_last_dimension_of_its_argument_is_refused_packed(tmp_path, capsys, read, tail):
    # `.flip(1)` after the reshape to (N * T, H): dimension 1 is the last one there.
    write(tmp_path, {"pyproject.toml": "", "learner.py": _learner(tail, read)})
    before = (tmp_path / "learner.py").read_text()
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert (tmp_path / "learner.py").read_text() == before
    out = capsys.readouterr().out
    if read == DIRECT:
        assert 'G2L100 `flat_by_env(store["state"])` acts along the last dimension' in out
    else:
        assert "G2L101 `store` holds hidden states (key `'state'`) beside other values" in out


def test_a_helper_moving_the_last_dimension_of_a_3d_state_is_refused_packed(tmp_path, capsys):
    source = _learner("", DIRECT).replace("t.transpose(0, 1)", "t.transpose(1, 2)")
    write(tmp_path, {"pyproject.toml": "", "learner.py": source})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert 'G2L100 `flat_by_env(store["state"])` acts along the last dimension' in capsys.readouterr().out


SWAP = """\
    import torch
    import torch.nn as nn


    def swap(t):
        return t.transpose(0, 1)


    def run(steps=4, envs=3):
        rnn = nn.{kind}(4, 8)
        h = torch.zeros({shape})
        for _ in range(steps):
            h = swap(h.transpose(0, 1))  # back as it was
            {call}
        return h
"""


def test_a_helper_swapping_the_first_two_dimensions_of_a_3d_state_migrates_packed(tmp_path):
    source = SWAP.format(kind="GRU", shape="1, envs, 8", call="_, h = rnn(torch.randn(1, envs, 4), h)")
    write(tmp_path, {"pyproject.toml": "", "swap.py": source})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import swap\nswap.run()\n")


def test_the_same_helper_given_a_2d_state_is_refused_packed(tmp_path, capsys):
    # Dimension 1 of a GRUCell's (N, H) state is where h and c lie side by side: judged at this call.
    source = SWAP.format(kind="GRUCell", shape="envs, 8", call="h = rnn(torch.randn(envs, 4), h)")
    write(tmp_path, {"pyproject.toml": "", "swap.py": source})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert "G2L100 `swap(h.transpose(0, 1))` acts along the last dimension" in capsys.readouterr().out


def test_a_helper_whose_parameter_is_bound_again_is_judged_without_a_rank(tmp_path, capsys):
    # `t = t.unsqueeze(0)`: which value `t` holds where it is transposed is not one path; refused.
    source = _learner("", DIRECT).replace(
        "    return t.transpose(0, 1)", "    if t.dim() == 2:\n            t = t.unsqueeze(0)\n        return t.transpose(0, 1)"
    )
    write(tmp_path, {"pyproject.toml": "", "learner.py": source})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert 'G2L100 `flat_by_env(store["state"])` acts along the last dimension' in capsys.readouterr().out


# ---------------------------------------------------------------- a shape passed by name
BUFFER = """\
    import numpy as np
    import torch
    import torch.nn as nn


    class Buffer:
        def __init__(self, state_shape):
            # (steps, layers, envs, hidden)
            self.states = np.zeros(state_shape, dtype=np.float32)

        def states_at(self, step):
            by_env = self.states.swapaxes(1, 2)  # (steps, envs, layers, hidden)
            return torch.as_tensor(by_env[step]).transpose(0, 1).contiguous()


    def run(steps=4, envs=3, layers=2):
        rnn = nn.GRU(4, 8, num_layers=layers)
        buffer = Buffer({shape})
        h = torch.zeros(layers, envs, 8)
        for t in range(steps):
            buffer.states[t] = h.detach().numpy()
            _, h = rnn(torch.randn(1, envs, 4), h)
        _, h = rnn(torch.randn(1, envs, 4), buffer.states_at(0))
        return h
"""


def test_an_allocation_whose_shape_a_parameter_holds_is_of_that_rank_packed(tmp_path):
    # `np.zeros(state_shape)` with `(steps, layers, envs, 8)` passed: 4-D, so `swapaxes(1, 2)` and
    # then `transpose(0, 1)` of a row keep the last dimension (refused before: the rank was not
    # known, and `by_env[step]` may be a row or rows). The shape held by a name is doubled in its
    # last size, not repeated (`2 * shape`).
    write(tmp_path, {"pyproject.toml": "", "buf.py": BUFFER.format(shape="(steps, layers, envs, 8)")})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    text = (tmp_path / "buf.py").read_text()
    assert "np.zeros((*state_shape[:-1], 2 * state_shape[-1]), dtype=np.float32)" in text
    run_migrated(tmp_path, "import buf\nbuf.run()\n")


def test_an_allocation_whose_shape_is_not_written_out_stays_refused_packed(tmp_path, capsys):
    # A shape made otherwise (`(steps,) + tuple(h.shape)`): its length is not known, so
    # dimension 2 may be the last one.
    source = BUFFER.format(shape="shape").replace(
        "        buffer = Buffer(shape)", "        shape = (steps,) + (layers, envs, 8)\n        buffer = Buffer(shape)"
    )
    write(tmp_path, {"pyproject.toml": "", "buf.py": source})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert "G2L100 `self.states.swapaxes(1, 2)` acts along the last dimension" in capsys.readouterr().out


def test_a_state_made_from_a_shape_a_name_holds_is_doubled_in_its_last_size_packed(tmp_path):
    # Was `torch.zeros(2 * shape)`: the tuple repeated, a 6-D state, and exit 0.
    write(tmp_path, {"pyproject.toml": "", "m.py": """\
        import torch
        import torch.nn as nn


        def run(n=3):
            rnn = nn.GRU(4, 8)
            shape = (1, n, 8)
            h = torch.zeros(shape)
            for _ in range(3):
                _, h = rnn(torch.randn(1, n, 4), h)
            return h
        """})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "h = torch.zeros((*shape[:-1], 2 * shape[-1]))" in (tmp_path / "m.py").read_text()
    run_migrated(tmp_path, "import m\nm.run()\n")


# ---------------------------------------------------------------- a learned offset is no initial state
OFFSET = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.h0 = nn.Parameter(torch.zeros(1, 1, 8) + 0.1)

        def forward(self, x, h, done):
            out, h = self.gru(x, h)
            {update}
            return out, h


    def run(n=3):
        net = Net()
        h = torch.zeros(1, n, 8)
        for t in range(4):
            done = (torch.arange(n) == t % n).float().view(1, -1, 1)
            _, h = net(torch.randn(1, n, 4), h, done)
        return h
"""


def test_a_learned_parameter_added_to_the_state_is_an_operand_tuple(tmp_path, capsys):
    # Was G2L101 calling `self.h0` "a learned initial state": a sum is an offset, not the state. Written once
    # per half until session 32, which gave c the offset too: whether c gets it is the author's choice.
    write(tmp_path, {"pyproject.toml": "", "net.py": OFFSET.replace("{update}", "h = h + self.h0")})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith(
        f"{tmp_path / 'net.py'}:13:13: G2L100 `h + self.h0` adds `self.h0`, which is not a hidden state, to the hidden state; "
        "with (h, c) the engine would do the same to c as to h, which is a choice it cannot make; write it on h alone (and say "
        "what c gets) by hand, or make the operand a state the engine follows\n"
    )


def test_a_learned_parameter_added_to_the_state_is_a_width_finding_packed(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "net.py": OFFSET.replace("{update}", "h = h + self.h0")})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert "G2L100 `h + self.h0` combines the hidden state with `self.h0`, an allocation of the hidden size" in capsys.readouterr().out


@pytest.mark.parametrize("update", ["h = torch.where(done > 0, self.h0, h)", "h = h * (1 - done) + self.h0 * done"])
def test_a_learned_parameter_that_takes_the_states_place_is_still_a_learned_initial_state(tmp_path, capsys, update):
    write(tmp_path, {"pyproject.toml": "", "net.py": OFFSET.replace("{update}", update)})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "is a learned initial state, `nn.Parameter(torch.zeros(1, 1, 8) + 0.1)`" in capsys.readouterr().out
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "nn.Parameter(torch.zeros(1, 1, 2 * 8) + 0.1)" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.run()\n")


# ---------------------------------------------------------------- stacked layers
STACK = """\
    import torch
    import torch.nn as nn


    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.lower = nn.{kind}(4, 8)
            self.upper = nn.{kind}(8, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h1, h2):
            {body}
            return self.pi(h2.reshape(-1, 8)), h1, h2


    def run(n=3):
        net = Stack()
        h1, h2 = torch.zeros({shape}), torch.zeros({shape})
        for _ in range(4):
            y, h1, h2 = net(torch.randn({input}), h1, h2)
        return y
"""
CELLS = {"kind": "GRUCell", "shape": "n, 8", "input": "n, 4", "body": "h1 = self.lower(x, h1)\n            h2 = self.upper(h1, h2)"}
GRUS = {"kind": "GRU", "shape": "1, n, 8", "input": "1, n, 4", "body": "_, h1 = self.lower(x, h1)\n            _, h2 = self.upper(h1, h2)"}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("stack", [CELLS, GRUS], ids=["cells", "grus"])
def test_a_layers_state_fed_to_the_next_layer_feeds_its_h(tmp_path, form, stack):
    # Was G2L100 "migrate this stack by hand": the lower layer's state is held apart from the
    # upper one's, so the upper layer's input is its h, as an LSTM stack feeds it on.
    write(tmp_path, {"pyproject.toml": "", "stack.py": STACK.format(**stack)})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    fed = "h1[0]" if form == "tuple" else "h1.chunk(2, dim=-1)[0]"
    assert f"self.upper({fed}, h2" in (tmp_path / "stack.py").read_text()
    run_migrated(tmp_path, "import stack\nstack.run()\n")


LAYERS = """\
    import torch
    import torch.nn as nn


    class Layers(nn.Module):
        def __init__(self):
            super().__init__()
            self.cells = nn.ModuleList([nn.GRUCell(8, 8), nn.GRUCell(8, 8)])

        def forward(self, x, state):
            new_state = []
            for cell, h in zip(self.cells, state):
                x = cell(x, h)
                new_state.append(x)
            return x, new_state


    def run(n=3):
        net = Layers()
        state = [torch.zeros(n, 8), torch.zeros(n, 8)]
        for _ in range(4):
            y, state = net(torch.randn(n, 8), state)
        return y
"""


def test_one_name_for_a_layers_input_and_its_state_is_refused_packed(tmp_path, capsys):
    # `x = cell(x, h)` over the layers: x is the observations for the first layer, a state after;
    # packed, that name would be h and c where the next layer reads h
    write(tmp_path, {"pyproject.toml": "", "layers.py": LAYERS})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert "G2L100 `x` is the input of `cell(x, h)` and also keeps the state it returns" in capsys.readouterr().out


def test_one_name_for_a_layers_input_and_its_state_is_held_as_two(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "layers.py": LAYERS})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "            x, x_c = cell(x, h)\n            new_state.append((x, x_c))\n" in (tmp_path / "layers.py").read_text()
    run_migrated(tmp_path, "import layers\nlayers.run().sum().backward()\n")


@pytest.mark.parametrize(
    "code, count",
    [
        ("np.zeros((T, N, H), np.float32)", 3),  # a dtype after the shape is no size
        ("torch.full((T, N, H), 0.5)", 3),
        ("torch.full(shape, 0.5)", None),  # the fill value is no size
        ("h.new_full((N, H), 0.0)", 2),
        ("torch.zeros(T, N, H)", 3),
        ("torch.zeros(shape)", None),
        ("torch.zeros(size=(N, H))", 2),
    ],
)
def test_the_sizes_a_creation_writes_out(code, count):
    from gru2lstm.rules.packed_ranks import sizes_given

    assert sizes_given(cst.parse_expression(code)) == count
