"""Each rule of docs/rules.md on the smallest code that shows it (valid: rewritten; invalid: a finding)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gru2lstm.migrate import SourceError, migrate_source
from gru2lstm.options import Options

HEADER = "import torch\nfrom torch import nn\n\n\n"


def migrate(code: str, **options) -> str:
    return migrate_source(HEADER + textwrap.dedent(code), Options(**options)).source[len(HEADER):]


def findings(code: str):
    return migrate_source(HEADER + textwrap.dedent(code)).findings


REWRITES = {
    "module and rename": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16, num_layers=2, batch_first=True)

            def forward(self, x, h):
                return self.gru(x, h)
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)

            def forward(self, x, h):
                return self.lstm(x, h)
        """,
    ),
    "creation assigned whole, inline creation, halfwise detach": (
        """
        class M(nn.Module):
            def __init__(self):
                self.core = nn.GRU(8, 16)
                self.h = None

            def act(self, x):
                if self.h is None:
                    self.h = torch.zeros(1, 1, 16)
                out, h = self.core(x, self.h)
                self.h = h.detach()
                return out

            def fresh(self, x):
                return self.core(x, torch.zeros(1, 1, 16))[0]
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.core = nn.LSTM(8, 16)
                self.h = None

            def act(self, x):
                if self.h is None:
                    self.h = (
                        torch.zeros(1, 1, 16),
                        torch.zeros(1, 1, 16),
                    )
                out, h = self.core(x, self.h)
                self.h = (h[0].detach(), h[1].detach())
                return out

            def fresh(self, x):
                return self.core(x, (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16)))[0]
        """,
    ),
    "features read from h only": (
        """
        class M(nn.Module):
            def __init__(self):
                self.rnn = nn.GRU(8, 16, num_layers=2)
                self.head = nn.Linear(16, 2)

            def forward(self, x, h0):
                out, h = self.rnn(x, h0)
                return self.head(h[-1]), h
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.rnn = nn.LSTM(8, 16, num_layers=2)
                self.head = nn.Linear(16, 2)

            def forward(self, x, h0):
                out, h = self.rnn(x, h0)
                return self.head(h[0][-1]), h
        """,
    ),
    "a module passed to a function runs its forward; names of a main block; sizes read from h": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.hidden = torch.zeros(1, 1, 16)

            def forward(self, x, h):
                return self.gru(x, h)


        def train(net, x):
            h0 = net.hidden.detach().repeat(1, x.shape[1], 1)
            return net(x, h0)


        if __name__ == "__main__":
            net = M()
            out, h = train(net, torch.zeros(5, 3, 8))
            print(tuple(net.hidden.shape))
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.lstm = nn.LSTM(8, 16)
                self.hidden = (
                    torch.zeros(1, 1, 16),
                    torch.zeros(1, 1, 16),
                )

            def forward(self, x, h):
                return self.lstm(x, h)


        def train(net, x):
            h0 = (net.hidden[0].detach().repeat(1, x.shape[1], 1), net.hidden[1].detach().repeat(1, x.shape[1], 1))
            return net(x, h0)


        if __name__ == "__main__":
            net = M()
            out, h = train(net, torch.zeros(5, 3, 8))
            print(tuple(net.hidden[0].shape))
        """,
    ),
    "dict(key=state) is a keyed state; values of a dict of states, its copy, a module-level generator": (
        """
        class M(nn.Module):
            def __init__(self):
                self.cell = nn.GRUCell(4, 8)
                self.hidden = {}

            def initial(self, n):
                return dict(deter=torch.zeros(n, 8), steps=0)

            def act(self, env_id, x, state):
                h = self.cell(x, self.hidden.get(env_id, state["deter"]))
                self.hidden[env_id] = h
                return h

            def snapshot(self):
                saved = self.hidden.copy()
                for env_id, h in saved.items():
                    saved[env_id] = h.detach()
                return saved


        m = M()
        m.act(0, torch.zeros(1, 4), m.initial(1))
        print(sum(h.norm() for h in m.snapshot().values()))
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.cell = nn.LSTMCell(4, 8)
                self.hidden = {}

            def initial(self, n):
                return dict(deter=(torch.zeros(n, 8), torch.zeros(n, 8)), steps=0)

            def act(self, env_id, x, state):
                h, c = self.cell(x, self.hidden.get(env_id, state["deter"]))
                self.hidden[env_id] = (h, c)
                return (h, c)

            def snapshot(self):
                saved = self.hidden.copy()
                for env_id, h in saved.items():
                    saved[env_id] = (h[0].detach(), h[1].detach())
                return saved


        m = M()
        m.act(0, torch.zeros(1, 4), m.initial(1))
        print(sum(h[0].norm() for h in m.snapshot().values()))
        """,
    ),
    "an in-place op whose result is dropped acts on both halves": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(4, 8)

            def act(self, x, h):
                out, h = self.gru(x, h)
                h.detach_()
                return out, h
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.lstm = nn.LSTM(4, 8)

            def act(self, x, h):
                out, h = self.lstm(x, h)
                (h[0].detach_(), h[1].detach_())
                return out, h
        """,
    ),
    "stored states batched where no line can be added: a batch of each half in place": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []
                self.log = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)
                self.log.append({"h": h})

            def learn(self, x):
                start = {"h": torch.cat([m["h"] for m in self.log], dim=1)}
                return self.gru(x, torch.cat(self.mem[-4:], dim=1))
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.lstm = nn.LSTM(8, 16)
                self.mem = []
                self.log = []

            def act(self, x, h):
                out, h = self.lstm(x, h)
                self.mem.append(h)
                self.log.append({"h": h})

            def learn(self, x):
                start = {"h": (torch.cat([m["h"][0] for m in self.log], dim=1), torch.cat([m["h"][1] for m in self.log], dim=1))}
                return self.lstm(x, (torch.cat([hc[0] for hc in self.mem[-4:]], dim=1), torch.cat([hc[1] for hc in self.mem[-4:]], dim=1)))
        """,
    ),
    "torch.where resets, a deep-copied target network, f-strings, `_` thrown away at module level": (
        """
        import copy


        class Q(nn.Module):
            def __init__(self):
                self.cell = nn.GRUCell(4, 8)
                self.head = nn.Linear(8, 2)

            def forward(self, x, h):
                h = self.cell(x, h)
                return self.head(h), h


        def reset(h, done):
            return torch.where(done[:, None], torch.zeros_like(h), h)


        q = Q()
        target = copy.deepcopy(q)
        h = torch.zeros(3, 8)
        values, h = q(torch.zeros(3, 4), h)
        _, h = target(torch.zeros(3, 4), reset(h, torch.zeros(3, dtype=torch.bool)))
        _, _ = values, h
        print(f"{values.sum():.3f} {h.norm():.3f}", "h" f"{tuple(h.shape)}")
        """,
        """
        import copy


        class Q(nn.Module):
            def __init__(self):
                self.cell = nn.LSTMCell(4, 8)
                self.head = nn.Linear(8, 2)

            def forward(self, x, h):
                h = self.cell(x, h)
                return self.head(h[0]), h


        def reset(h, done):
            return (torch.where(done[:, None], torch.zeros_like(h[0]), h[0]), torch.where(done[:, None], torch.zeros_like(h[0]), h[1]))


        q = Q()
        target = copy.deepcopy(q)
        h = (
            torch.zeros(3, 8),
            torch.zeros(3, 8),
        )
        values, h = q(torch.zeros(3, 4), h)
        _, h = target(torch.zeros(3, 4), reset(h, torch.zeros(3, dtype=torch.bool)))
        _, _ = values, h
        print(f"{values.sum():.3f} {h[0].norm():.3f}", "h" f"{tuple(h[0].shape)}")
        """,
    ),
    "dataclasses.replace and namedtuple _replace set the fields they name": (
        """
        import dataclasses
        from typing import NamedTuple


        @dataclasses.dataclass
        class State:
            belief: torch.Tensor
            step: int


        class Step(NamedTuple):
            obs: torch.Tensor
            hidden: torch.Tensor


        class Core(nn.Module):
            def __init__(self):
                self.cell = nn.GRUCell(4, 8)

            def forward(self, x, state: State, record: Step) -> State:
                belief = self.cell(x, state.belief)
                record = record._replace(hidden=belief)
                return dataclasses.replace(state, belief=belief, step=state.step + 1)
        """,
        """
        import dataclasses
        from typing import NamedTuple, Tuple


        @dataclasses.dataclass
        class State:
            belief: Tuple[torch.Tensor, torch.Tensor]
            step: int


        class Step(NamedTuple):
            obs: torch.Tensor
            hidden: Tuple[torch.Tensor, torch.Tensor]


        class Core(nn.Module):
            def __init__(self):
                self.cell = nn.LSTMCell(4, 8)

            def forward(self, x, state: State, record: Step) -> State:
                belief, belief_c = self.cell(x, state.belief)
                record = record._replace(hidden=(belief, belief_c))
                return dataclasses.replace(state, belief=(belief, belief_c), step=state.step + 1)
        """,
    ),
    "a tuple of one state, iterated (torchbeast's core_state)": (
        """
        class Net(nn.Module):
            def __init__(self):
                self.core = nn.GRU(4, 8)

            def initial_state(self, n):
                return (torch.zeros(1, n, 8),)

            def start(self, xs, notdone):
                return self(xs, notdone, self.initial_state(xs.shape[1]))

            def forward(self, xs, notdone, core_state=()):
                outs = []
                for x, nd in zip(xs.unbind(), notdone.unbind()):
                    core_state = tuple(nd.view(1, -1, 1) * s for s in core_state)
                    out, h = self.core(x.unsqueeze(0), core_state[0])
                    core_state = (h,)
                    outs.append(out)
                return torch.cat(outs), core_state
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                self.core = nn.LSTM(4, 8)

            def initial_state(self, n):
                return ((torch.zeros(1, n, 8), torch.zeros(1, n, 8)),)

            def start(self, xs, notdone):
                return self(xs, notdone, self.initial_state(xs.shape[1]))

            def forward(self, xs, notdone, core_state=()):
                outs = []
                for x, nd in zip(xs.unbind(), notdone.unbind()):
                    core_state = tuple((nd.view(1, -1, 1) * s[0], nd.view(1, -1, 1) * s[1]) for s in core_state)
                    out, h = self.core(x.unsqueeze(0), core_state[0])
                    core_state = (h,)
                    outs.append(out)
                return torch.cat(outs), core_state
        """,
    ),
    "state unpacked whole from an input tuple": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRUCell(4, 8)

            def forward(self, inputs):
                x, hx = inputs
                hx = self.gru(x, hx)
                return hx.sum(), hx


        model = M()
        hx = torch.zeros(1, 8)
        value, hx = model((torch.randn(1, 4), hx))
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.lstm = nn.LSTMCell(4, 8)

            def forward(self, inputs):
                x, (hx, cx) = inputs
                hx, cx = self.lstm(x, (hx, cx))
                return hx.sum(), (hx, cx)


        model = M()
        hx = (
            torch.zeros(1, 8),
            torch.zeros(1, 8),
        )
        value, hx = model((torch.randn(1, 4), hx))
        """,
    ),
    "a module moved with .to() is still followed": (
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)

            def forward(self, x, h):
                return self.gru(x, h)


        def run(net, steps):
            h = torch.zeros(1, 2, 8)
            for _ in range(steps):
                y, h = net(torch.randn(1, 2, 4), h)
            return y


        run(M().to("cpu"), 3)
        """,
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(4, 8)

            def forward(self, x, h):
                return self.lstm(x, h)


        def run(net, steps):
            h = (
                torch.zeros(1, 2, 8),
                torch.zeros(1, 2, 8),
            )
            for _ in range(steps):
                y, h = net(torch.randn(1, 2, 4), h)
            return y


        run(M().to("cpu"), 3)
        """,
    ),
    "a cell used as a plain layer gives its h": (
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)
                self.out = nn.Linear(8, 1)

            def forward(self, x):
                return self.out(torch.relu(self.cell(x)))
        """,
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.LSTMCell(4, 8)
                self.out = nn.Linear(8, 1)

            def forward(self, x):
                return self.out(torch.relu(self.cell(x)[0]))
        """,
    ),
    "an initial state made with weight.new(...).zero_()": (
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 8)
                self.cell = nn.GRUCell(8, 8)

            def init_hidden(self):
                return self.fc.weight.new(1, 8).zero_()

            def forward(self, x, h):
                return self.cell(torch.relu(self.fc(x)), h)


        m = M()
        h = m.init_hidden()
        h = m(torch.randn(1, 4), h)
        """,
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 8)
                self.cell = nn.LSTMCell(8, 8)

            def init_hidden(self):
                return (self.fc.weight.new(1, 8).zero_(), self.fc.weight.new(1, 8).zero_())

            def forward(self, x, h):
                return self.cell(torch.relu(self.fc(x)), h)


        m = M()
        h = m.init_hidden()
        h = m(torch.randn(1, 4), h)
        """,
    ),
    "a chain on an initial state made by a call runs on each half": (
        """
        class Agent(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)

            def init_hidden(self):
                return torch.zeros(1, 8)

            def forward(self, x, h):
                return self.cell(x, h.reshape(-1, 8))


        class Controller:
            def __init__(self):
                self.agent = Agent()

            def start(self, batch, n):
                self.hidden = self.agent.init_hidden().unsqueeze(0).expand(batch, n, -1)

            def act(self, x):
                self.hidden = self.agent(x, self.hidden)
        """,
        """
        class Agent(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.LSTMCell(4, 8)

            def init_hidden(self):
                return (
                    torch.zeros(1, 8),
                    torch.zeros(1, 8),
                )

            def forward(self, x, h):
                return self.cell(x, (h[0].reshape(-1, 8), h[1].reshape(-1, 8)))


        class Controller:
            def __init__(self):
                self.agent = Agent()

            def start(self, batch, n):
                self.hidden = tuple(half.unsqueeze(0).expand(batch, n, -1) for half in self.agent.init_hidden())

            def act(self, x):
                self.hidden = self.agent(x, self.hidden)
        """,
    ),
    "helpers that give back what they are given are apart at each call": (
        """
        def ortho(layer, gain=1.0):
            for name, param in layer.named_parameters():
                nn.init.orthogonal_(param, gain)
            return layer


        def check(x):
            return torch.from_numpy(x) if isinstance(x, torch.Tensor) is False else x


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = ortho(nn.GRU(4, 8))
                self.v = ortho(nn.Linear(8, 1))

            def forward(self, obs, h, masks):
                obs, h = check(obs).float(), check(h).float()
                out, h = self.gru(obs, h * check(masks))
                return self.v(out), h


        p = Policy()
        v, h = p(torch.zeros(1, 2, 4), torch.zeros(1, 2, 8), torch.ones(1, 2, 1))
        """,
        """
        def ortho(layer, gain=1.0):
            for name, param in layer.named_parameters():
                nn.init.orthogonal_(param, gain)
            return layer


        def check(x):
            return torch.from_numpy(x) if isinstance(x, torch.Tensor) is False else x


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = ortho(nn.LSTM(4, 8))
                self.v = ortho(nn.Linear(8, 1))

            def forward(self, obs, h, masks):
                obs, h = check(obs).float(), (check(h[0]).float(), check(h[1]).float())
                out, h = self.lstm(obs, (h[0] * check(masks), h[1] * check(masks)))
                return self.v(out), h


        p = Policy()
        v, h = p(torch.zeros(1, 2, 4), (torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)), torch.ones(1, 2, 1))
        """,
    ),
    "keep names": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)

            def forward(self, x):
                return self.gru(x)[0]
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.LSTM(8, 16)

            def forward(self, x):
                return self.gru(x)[0]
        """,
    ),
}


@pytest.mark.parametrize("name", list(REWRITES))
def test_rewrite(name):
    before, after = REWRITES[name]
    keep = name == "keep names"
    assert migrate(before, keep_names=keep) == textwrap.dedent(after)


def test_import_alias_keeps_the_alias():
    source = "from torch.nn import GRU as RNN\nimport torch\n\nrnn = RNN(4, 4)\nout, _ = rnn(torch.zeros(1, 1, 4))\n"
    assert migrate_source(source).source == "from torch.nn import LSTM as RNN\nimport torch\n\nrnn = RNN(4, 4)\nout, _ = rnn(torch.zeros(1, 1, 4))\n"


def test_module_level_holder_is_renamed_where_it_is_bound_and_read():
    source = "import torch\nfrom torch import nn\n\ngru = nn.GRU(2, 2)\nout, h = gru(torch.zeros(1, 1, 2))\n"
    assert migrate_source(source).source == (
        "import torch\nfrom torch import nn\n\nlstm = nn.LSTM(2, 2)\nout, h = lstm(torch.zeros(1, 1, 2))\n"
    )


def test_plain_import_is_renamed_everywhere():
    source = "from torch.nn import GRU\n\nnet = GRU(4, 4)\nok = isinstance(net, GRU)\nout, _ = net(x)\n"
    assert migrate_source(source).source == "from torch.nn import LSTM\n\nnet = LSTM(4, 4)\nok = isinstance(net, LSTM)\nout, _ = net(x)\n"


FINDINGS = {
    "a recurrent call with starred arguments": (
        """
        core = nn.GRU(4, 8)
        h = torch.zeros(1, 1, 8)
        args = (torch.randn(1, 1, 4), h)
        out, h = core(*args)
        """,
        "G2L100",
    ),
    "the output carried as the state": (
        """
        class Q(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8, batch_first=True)
                self.q = nn.Linear(8, 2)

            def forward(self, x, h):
                out, _ = self.gru(x, h)
                return self.q(out), out[:, -1].unsqueeze(0)
        """,
        "G2L100",
    ),
    "a module made inside a lambda": (
        """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)

            def forward(self, x, h):
                return self.gru(x, h)


        net = (lambda: M())()  # `make = lambda: M()` then `make()` is a function of the module (session 40): followed
        y, h = net(torch.randn(1, 2, 4), torch.zeros(1, 2, 8))
        """,
        "G2L101",
    ),
    "a state-carrying function kept as a callback": (
        """
        gru = nn.GRU(4, 8)


        def step(x, h):
            y, h = gru(x, h)
            return y, h


        h = torch.zeros(1, 2, 8)
        y, h = step(torch.randn(1, 2, 4), h)
        callbacks = [step]
        """,
        "G2L101",
    ),
    "unknown function": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)

            def act(self, x, h):
                out, h = self.gru(x, h)
                save_somewhere(h)
                return out
        """,
        "G2L101",
    ),
    "state from an unknown source": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)

            def act(self, x):
                h = load_state()
                out, h2 = self.gru(x, h)
                return out
        """,
        "G2L101",
    ),
    "a place that holds a GRU or an LSTM": (
        """
        class M(nn.Module):
            def __init__(self, kind):
                if kind == "gru":
                    self.core = nn.GRU(8, 16)
                else:
                    self.core = nn.LSTM(8, 16)
        """,
        "G2L102",
    ),
    "partner name already taken": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)
                return out, h

            def learn(self, x):
                c_states = 0
                h_states = torch.cat(self.mem, dim=1)
                return self.gru(x, h_states)[0], c_states
        """,
        "G2L103",
    ),
    "grown return not unpacked": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)
                return out, h

            def batch(self, x):
                h_states = torch.cat(self.mem, dim=1)
                return x, h_states

            def learn(self, x):
                both = self.batch(x)
                return self.gru(both[0], both[1])[0]
        """,
        "G2L104",
    ),
    "batched state from a call, not assigned": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []

            def memory(self):
                return self.mem

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)

            def learn(self, x):
                return self.gru(x, torch.cat(self.memory(), dim=1))
        """,
        "G2L100",
    ),
    "values of a dict that holds a state under a fixed key": (
        """
        class M(nn.Module):
            def __init__(self):
                self.cell = nn.GRUCell(4, 8)

            def step(self, prev, x):
                deter = self.cell(x, prev["deter"])
                return {"deter": deter, "stoch": x}

            def last(self, state, x):
                state = self.step(state, x)
                return {k: v[-1] for k, v in state.items()}
        """,
        "G2L101",
    ),
    "a loop over a tuple of a state and features": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(4, 8)

            def act(self, x, h):
                out, h = self.gru(x, h)
                return [t.detach() for t in (out, h)]
        """,
        "G2L101",
    ),
}


@pytest.mark.parametrize("name", list(FINDINGS))
def test_finding_leaves_file_untouched(name):
    code, expected_code = FINDINGS[name]
    source = HEADER + textwrap.dedent(code)
    migration = migrate_source(source)
    assert expected_code in {f.code for f in migration.findings}
    assert migration.blocked
    assert migration.source == source and not migration.changed
    finding = next(f for f in migration.findings if f.code == expected_code)
    assert finding.line > len(HEADER.splitlines())


def test_allow_partial_writes_the_safe_part():
    code, _ = FINDINGS["unknown function"]
    migration = migrate_source(HEADER + textwrap.dedent(code), Options(allow_partial=True))
    assert "nn.LSTM(8, 16)" in migration.source
    assert "        save_somewhere(h)  # gru2lstm: manual (G2L101)\n" in migration.source


def test_file_without_gru_is_unchanged():
    source = HEADER + "net = nn.LSTM(4, 4)\nmlp = nn.Linear(4, 4)\n"
    migration = migrate_source(source)
    assert not migration.changed and migration.source == source


def test_local_class_named_gru_is_left_alone():
    source = "class GRU:\n    pass\n\n\nnet = GRU()\n"
    migration = migrate_source(source)
    assert not migration.changed
    assert [f.code for f in migration.findings] == ["G2L201"]


def test_unparsable_source_raises_source_error():
    with pytest.raises(SourceError) as error:
        migrate_source("def broken(:\n    pass\n")
    assert error.value.error.line == 1


def test_every_finding_code_is_catalogued_and_documented():
    import re
    from pathlib import Path

    from gru2lstm.findings import CODES

    root = Path(__file__).resolve().parent.parent
    used = set(re.findall(r'"(G2L\d{3})"', "".join(p.read_text() for p in (root / "gru2lstm").glob("*.py"))))
    assert used <= set(CODES), used - set(CODES)
    readme = (root / "README.md").read_text()
    assert all(f"| {code} |" in readme for code in CODES)
    assert len({message for _, message in CODES.values()}) == len(CODES)


def test_output_check_notices_a_partner_read_before_anything_binds_it():
    from gru2lstm.output_check import read_before_bound

    before = "def f(self, inputs):\n    x, hx = inputs\n    hx = self.gru(x, hx)\n    return hx\n"
    after = "def f(self, inputs):\n    x, hx = inputs\n    hx, cx = self.lstm(x, (hx, cx))\n    return hx, cx\n"
    assert read_before_bound(ast.parse(before)) == set()
    assert read_before_bound(ast.parse(after)) == {("`f()`", "cx", 3)}
    # A loop that carries a pair made before it, comprehension variables and globals are fine.
    loop = "def g(xs):\n    h, c = 0, 0\n    for x in xs:\n        h, c = step(x, (h, c))\n    return [y for y in xs], h\n"
    assert read_before_bound(ast.parse(loop)) == set()


PACKED_AGENT = """
class A(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(5, hidden)
        self.rnn = nn.GRUCell(hidden, hidden)
        self.fc2 = nn.Linear(hidden, 3)
        self.hidden = hidden

    def forward(self, inputs, hidden_state):
        h_in = hidden_state.reshape(-1, self.hidden)
        h = self.rnn(torch.relu(self.fc1(inputs)), h_in)
        return self.fc2(h), h


a = A(8)
h = torch.zeros(2, 8)
q, h = a(torch.randn(2, 5), h)
"""


def test_packed_form_doubles_reshape_sizes_and_feeds_the_heads_h_only():
    out = migrate(PACKED_AGENT, state="packed")
    assert "h_in = hidden_state.reshape(-1, 2 * self.hidden)\n" in out
    assert "h = torch.cat(self.rnn(torch.relu(self.fc1(inputs)), h_in.chunk(2, dim=-1)), dim=-1)\n" in out
    assert "return self.fc2(h.chunk(2, dim=-1)[0]), h\n" in out
    assert "h = torch.zeros(2, 2 * 8)\n" in out


def test_code_that_already_switches_gru_and_lstm_is_left_alone_even_partially():
    code = """
    class Core(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            # Swap the GRU for an LSTM with cfg.use_gru = False.
            self.rnn = nn.GRU(4, 8) if cfg.use_gru else nn.LSTM(4, 8)

        def forward(self, x, h):
            return self.rnn(x, h)
    """
    for partial in (False, True):
        migration = migrate_source(HEADER + textwrap.dedent(code), Options(allow_partial=partial))
        assert [f.code for f in migration.findings] == ["G2L102"]
        assert not migration.changed


def test_some_rows_reset_in_place_are_reset_in_each_half():
    before = """
        core = nn.GRU(3, 8)
        hidden = torch.zeros(1, 4, 8)
        for t in range(5):
            out, hidden = core(torch.randn(1, 4, 3), hidden)
            done = torch.rand(4) < 0.3
            hidden[:, done, :] = 0
        """
    after = """
        core = nn.LSTM(3, 8)
        hidden = (
            torch.zeros(1, 4, 8),
            torch.zeros(1, 4, 8),
        )
        for t in range(5):
            out, hidden = core(torch.randn(1, 4, 3), hidden)
            done = torch.rand(4) < 0.3
            hidden[0][:, done, :] = 0
            hidden[1][:, done, :] = 0
        """
    assert migrate(before, state="tuple") == textwrap.dedent(after)


def test_a_choice_between_tuples_unpacks_each_side():
    before = """
    core = nn.GRU(4, 8)
    state, x = torch.zeros(1, 1, 8), torch.randn(1, 1, 4)
    for t in range(3):
        out, next_state = core(x, state)
        state, x = (torch.zeros(1, 1, 8), x) if t == 1 else (next_state, x)
    """
    after = migrate(before)
    assert "state, x = ((torch.zeros(1, 1, 8), torch.zeros(1, 1, 8)), x) if t == 1 else (next_state, x)\n" in after


def test_rows_sampled_at_random_and_unzipped_are_batched_per_half():
    before = """
    class Replay:
        def __init__(self):
            self.items = []

        def add(self, x, state):
            self.items.append((x, state))

        def batch(self, n):
            xs, states = zip(*random.sample(self.items, n))
            return torch.cat(xs, dim=1), torch.cat(states, dim=1)


    core = nn.GRU(4, 8)
    replay = Replay()
    h = torch.zeros(1, 1, 8)
    replay.add(torch.randn(1, 1, 4), h.detach())
    xs, h0 = replay.batch(1)
    out, _ = core(xs, h0)
    """
    after = migrate("import random\n" + textwrap.dedent(before))
    assert "(torch.cat([hc[0] for hc in states], dim=1), torch.cat([hc[1] for hc in states], dim=1))" in after
    assert "replay.add(torch.randn(1, 1, 4), (h[0].detach(), h[1].detach()))" in after
