"""Red team, wave 11 (our own small projects in the styles of TorchBeast's tuple of core states,
rl_games' list of rnn states, pomdp-baselines' dict of recurrent classes, MAPPO's numpy buffer and
Sample Factory's packed states): what the engine got wrong there, each case migrated and run, or
refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- rl_games: one name for the tuple of states and the state
GENERIC_STATES = {
    "pyproject.toml": "",
    "network.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.GRU(4, 8)

            def get_default_rnn_state(self, n):
                return (torch.zeros(1, n, 8),)

            def forward(self, x, states):
                if len(states) == 1:
                    states = states[0]
                out, states = self.rnn(x, states)
                if type(states) is not tuple:
                    states = (states,)
                return out, states
    """,
    "play.py": """\
        import torch

        from network import Net


        def play(steps=3):
            net = Net()
            states = net.get_default_rnn_state(2)
            for t in range(steps):
                out, states = net(torch.randn(1, 2, 4), states)
            return out
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_name_that_holds_the_state_and_a_tuple_of_it_is_refused(tmp_path, capsys, form):
    # `states = states[0]` joined the tuple with the state it holds: the tuple form wrote
    # `len(states[0]) == 1` and `type(states[0])`, the packed form doubled a size read from the
    # packed state; both exited 0 and the LSTM got `((h, c),)`.
    write(tmp_path, GENERIC_STATES)
    assert main(["rewrite", "--check", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "network.py:15:22: G2L102 `states` receives `states[0]` here, so the name holds the hidden state on one path " in out
    assert "network.py:18:23: G2L102 `states` receives `(states,)` here" in out


# ---------------------------------------------------------------- rl_games: a list of states, minibatches, resets by index
RL_GAMES = {
    "pyproject.toml": "",
    "network.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self, units=8):
                super().__init__()
                self.num_seqs = 1
                self.units = units
                self.rnn = nn.GRU(4, units)
                self.value = nn.Linear(units, 1)

            def get_default_rnn_state(self):
                return (torch.zeros((1, self.num_seqs, self.units)),)

            def forward(self, obs, states):
                out, h = self.rnn(obs.unsqueeze(0), states[0])
                return self.value(out[0]), (h,)
    """,
    "agent.py": """\
        import torch

        from network import Net


        class Agent:
            def __init__(self, actors=3, horizon=4):
                self.model = Net()
                self.model.num_seqs = actors
                self.horizon = horizon
                self.rnn_states = [s.to("cpu") for s in self.model.get_default_rnn_state()]
                self.mb_rnn_states = [torch.zeros((horizon, s.size()[0], actors, s.size()[2])) for s in self.rnn_states]

            def play(self):
                for n in range(self.horizon):
                    for s, mb_s in zip(self.rnn_states, self.mb_rnn_states):
                        mb_s[n, :, :, :] = s
                    with torch.no_grad():
                        value, self.rnn_states = self.model(torch.randn(3, 4), self.rnn_states)
                    done = (torch.rand(3) < 0.5).nonzero(as_tuple=False)
                    for s in self.rnn_states:
                        s[:, done, :] = 0.0
                states = [mb_s[-1] for mb_s in self.mb_rnn_states]
                value, _ = self.model(torch.randn(2, 4), [s[:, [0, 2], :] for s in states])
                return value
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_rl_games_states_sized_from_a_state_and_reset_by_index_migrate(tmp_path, form):
    # Packed: `torch.zeros((T, s.size()[0], N, s.size()[2]))` of a packed `s` took `2 * s.size()[2]`
    # (exit 0, a copy into it failed), and `s[:, done, :] = 0.0` was refused as a cut that may be
    # along the last dimension, though the `:` after `done` takes that one.
    write(tmp_path, RL_GAMES)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "packed":
        assert "2 * s.size()" not in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent\na = agent.Agent()\na.play()\na.play().sum().backward()\n")


# ---------------------------------------------------------------- TorchBeast: columns of zipped state tuples
BEAST = {
    "pyproject.toml": "",
    "net.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRU(4, 8, 2)
                self.baseline = nn.Linear(8, 1)

            def initial_state(self, batch_size):
                return (torch.zeros(self.core.num_layers, batch_size, self.core.hidden_size),)

            def forward(self, x, done, core_state):
                outputs = []
                for input, nd in zip(x.unbind(), (~done).float().unbind()):
                    core_state = tuple(nd.view(1, -1, 1) * s for s in core_state)
                    output, h = self.core(input.unsqueeze(0), core_state[0])
                    core_state = (h,)
                    outputs.append(output)
                return self.baseline(torch.cat(outputs)), core_state
    """,
    "learner.py": """\
        import torch

        from net import Net


        def learn(unrolls=3, B=2):
            model = Net()
            buffers = []
            state = model.initial_state(B)
            for _ in range(unrolls):
                buffers.append(state)
                with torch.no_grad():
                    _, state = model(torch.randn(3, B, 4), torch.rand(3, B) < 0.3, state)
            initial = tuple(torch.cat(ts, dim=1) for ts in zip(*buffers[1:]))
            values, _ = model(torch.randn(3, 2 * B, 4), torch.rand(3, 2 * B) < 0.3, initial)
            return values
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_columns_of_zipped_state_tuples_are_joined_per_half(tmp_path, form):
    # `for ts in zip(*buffers)`: each column was "an element of an unknown iterable" (G2L102 at `ts`).
    write(tmp_path, BEAST)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import learner\nlearner.learn().sum().backward()\n")


# ---------------------------------------------------------------- MAPPO: chunks of the stored states stacked by a comprehension
CHUNKS = {
    "pyproject.toml": "",
    "model.py": """\
        import numpy as np
        import torch
        import torch.nn as nn


        class Actor(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.GRU(4, 8)

            def forward(self, x, hxs):
                out, hxs = self.rnn(torch.as_tensor(x).unsqueeze(0), torch.as_tensor(hxs).unsqueeze(0))
                return out[0], hxs[0]


        class Buffer:
            def __init__(self, T=4, N=2):
                self.rnn_states = np.zeros((T + 1, N, 8), dtype=np.float32)

            def chunks(self, L=2):
                states = self.rnn_states[:-1].transpose(1, 0, 2)
                return np.stack([states[:, s] for s in range(0, states.shape[1], L)], 1).reshape(-1, 8)


        def run(T=4):
            actor, buffer = Actor(), Buffer(T)
            for t in range(T):
                with torch.no_grad():
                    out, h = actor(np.random.randn(2, 4).astype(np.float32), buffer.rnn_states[t])
                buffer.rnn_states[t + 1] = h.numpy()
            out, _ = actor(np.random.randn(4, 4).astype(np.float32), buffer.chunks())
            return out
    """,
}


def test_a_comprehension_of_pieces_of_stored_states_stacked_is_a_state(tmp_path):
    # `np.stack([states[:, s] for s in ...])`: its pieces were not known as states (G2L101 "built
    # from pieces the engine cannot trace"), though the same pieces appended to a list were.
    write(tmp_path, CHUNKS)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import model\nmodel.run().sum().backward()\n")


# ---------------------------------------------------------------- pomdp-baselines: the recurrent class chosen from a dict
SWITCH = {
    "pyproject.toml": "",
    "critic.py": """\
        import torch
        import torch.nn as nn

        RNNs = {"lstm": nn.LSTM, "gru": nn.GRU}


        class Critic(nn.Module):
            def __init__(self, encoder="gru"):
                super().__init__()
                self.encoder = encoder
                self.rnn = RNNs[encoder](input_size=4, hidden_size=8)

            def step(self, x, state):
                out, state = self.rnn(x.unsqueeze(0), state)
                hidden = state[0] if self.encoder == "lstm" else state
                return hidden.squeeze(0), state
    """,
}


def test_a_dict_that_chooses_the_gru_or_the_lstm_class_is_left_alone_with_one_finding(tmp_path, capsys):
    # No `nn.GRU(` in the bytes: the file was "unchanged (no torch.nn GRU)", exit 0, no word said.
    write(tmp_path, SWITCH)
    before = (tmp_path / "critic.py").read_text()
    assert main(["rewrite", "--allow-partial", "--quiet", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{tmp_path / 'critic.py'}:4:33: G2L102 the class `nn.GRU` is held beside `nn.LSTM`, so the code chooses between "
        "a GRU and an LSTM already and handles both; the engine leaves it as it is: choose the LSTM where the choice is made"
    ]
    assert (tmp_path / "critic.py").read_text() == before


def test_the_class_assigned_to_a_name_and_called_in_its_file_is_reported(tmp_path, capsys):
    write(tmp_path, {
        "pyproject.toml": "",
        "net.py": """\
            import torch.nn as nn

            RNN = nn.GRU


            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.rnn = RNN(4, 8)

                def forward(self, x, h):
                    return self.rnn(x, h)
        """,
    })
    assert main(["rewrite", "--check", "--quiet", str(tmp_path)]) == 1
    assert "net.py:3:7: G2L101 the class `nn.GRU` is assigned here, so the modules made from it are not followed" in capsys.readouterr().out


# ---------------------------------------------------------------- rl_games: the tuple of default states iterated
DEFAULTS = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)

        def default_state(self):
            return {made}

        def forward(self, x, states):
            out, h = self.rnn(x, states[0])
            return out, {returned}


    def main():
        net = Net()
        states = [s.to("cpu") for s in net.default_state()]
        for t in range(3):
            out, states = net(torch.randn(1, 3, 4), states)
        return out
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_tuple_of_one_state_iterated_from_a_call_holds_a_state(tmp_path, form):
    # `[s.to("cpu") for s in net.default_state()]` of `(torch.zeros(...),)`: `s` was a state, the
    # creation it iterates was not (exit 0: the tuple form wrote `s[0].to("cpu")` of one tensor).
    write(tmp_path, {"pyproject.toml": "", "net.py": DEFAULTS.format(made="(torch.zeros(1, 3, 8),)", returned="(h,)")})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import net\nnet.main().sum().backward()\n")


def test_a_tuple_of_several_items_iterated_as_states_is_refused(tmp_path, capsys):
    made, returned = "(torch.zeros(1, 3, 8), torch.zeros(3))", "(h, states[1])"
    write(tmp_path, {"pyproject.toml": "", "net.py": DEFAULTS.format(made=made, returned=returned)})
    assert main(["rewrite", "--check", "--quiet", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'net.py'}:20:36: G2L101 `net.default_state()` is iterated and each of its items taken as a hidden "
        "state, but its items (item 0, item 1) are not known as states; keep the hidden states in a container of their own"
    ]
