"""Expressions over the hidden state that are elementwise, written once per half in the tuple form
and kept whole in the packed form (docs/rules.md, "per half"): two states joined in one
expression (`torch.where(done, fresh, h)`, `h * m + h0 * (1 - m)`, `h - h_old`, `torch.lerp`),
elementwise methods (`h.clamp(-5, 5)`, `h.tanh()`, `torch.nan_to_num(h)`, in place too). Each
migrated program is run: every LSTM call gets a pair with a non-zero c."""

from __future__ import annotations

import textwrap

import pytest
import torch

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

nn = torch.nn
HEADER = "import torch\nfrom torch import nn\n\n\n"

POLICY = """
class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)
        self.pi = nn.Linear(8, 2)

    def init_hidden(self, n):
        return torch.zeros(1, n, 8)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return self.pi(out), h


"""


def migrate(body: str, state: str):
    return migrate_source(HEADER + POLICY + textwrap.dedent(body), Options(state=state))


def blocking(migration) -> list:
    return [(f.code, f.line, f.message) for f in migration.findings if f.blocks_write]


def run(source: str) -> list:
    """Exec the migrated source and `run()`: for each LSTM call, whether c was non-zero."""
    namespace = {}
    seen = []

    def watch(module, args):
        if isinstance(module, nn.LSTM):
            assert isinstance(args[1], tuple) and len(args[1]) == 2, type(args[1])
            assert args[1][0].shape == args[1][1].shape and args[1][0].shape[-1] == 8
            seen.append(bool(args[1][1].abs().sum() > 0))

    handle = nn.modules.module.register_module_forward_pre_hook(watch)
    try:
        torch.manual_seed(0)
        exec(compile(source, "migrated.py", "exec"), namespace)
        namespace["run"]()
    finally:
        handle.remove()
    return seen


LOOP = """
def run(steps=5):
    policy = Policy()
    h = policy.init_hidden(3)
    h0 = torch.zeros(1, 3, 8)
    for t in range(steps):
        h_old = h
        logits, h = policy(torch.randn(1, 3, 4), h)
        mask = (torch.rand(3) < 0.7).float()[None, :, None]
        done = mask < 0.5
        LINE
    return h
"""

# (the line, its tuple form)
JOINS = [
    ("h = h * mask + h0 * (1 - mask)", "h = (h[0] * mask + h0[0] * (1 - mask), h[1] * mask + h0[1] * (1 - mask))"),
    ("fresh = policy.init_hidden(3)\n        h = torch.where(done, fresh, h)",
     "h = (torch.where(done, fresh[0], h[0]), torch.where(done, fresh[1], h[1]))"),
    ("h = torch.lerp(h_old, h, 0.5)", "h = (torch.lerp(h_old[0], h[0], 0.5), torch.lerp(h_old[1], h[1], 0.5))"),
    ("h = h + 0.1 * (h - h_old)", "h = (h[0] + 0.1 * (h[0] - h_old[0]), h[1] + 0.1 * (h[1] - h_old[1]))"),
    ("h = h.clamp(-0.5, 0.5)", "h = (h[0].clamp(-0.5, 0.5), h[1].clamp(-0.5, 0.5))"),
    ("h = torch.clamp(h, -0.5, 0.5)", "h = (torch.clamp(h[0], -0.5, 0.5), torch.clamp(h[1], -0.5, 0.5))"),
    ("h.clamp_(-0.5, 0.5)", "(h[0].clamp_(-0.5, 0.5), h[1].clamp_(-0.5, 0.5))"),
    ("h = h.tanh().abs().sign() * h", "h = (h[0].tanh().abs().sign() * h[0], h[1].tanh().abs().sign() * h[1])"),
    ("h = h / (h_old.norm() + 1)", None),  # a norm of another state: which half of it each half takes is no rule
    ("h = torch.nan_to_num(h.tanh())", "h = (torch.nan_to_num(h[0].tanh()), torch.nan_to_num(h[1].tanh()))"),
    ("h = h.maximum(h_old)", "h = (h[0].maximum(h_old[0]), h[1].maximum(h_old[1]))"),
    ("h = torch.mul(mask, h)", "h = (torch.mul(mask, h[0]), torch.mul(mask, h[1]))"),  # as `mask * h`
    ("h = torch.mul(h, mask)", "h = (torch.mul(h[0], mask), torch.mul(h[1], mask))"),
    # an operand of a tensor function: its numbers would go into both halves as h's
    ("h = torch.addcmul(torch.zeros_like(h), h, mask)", None),
    ("h = h.mul(h_old + 1)", "h = (h[0].mul(h_old[0] + 1), h[1].mul(h_old[1] + 1))"),  # as `h * (h_old + 1)`
    # an operand made from sizes only reads them
    ("h = h.index_select(1, torch.arange(h.size(1)))",
     "h = (h[0].index_select(1, torch.arange(h[0].size(1))), h[1].index_select(1, torch.arange(h[0].size(1))))"),
]


@pytest.mark.parametrize("line, expected", JOINS, ids=[line.split("\n")[-1].strip() for line, _ in JOINS])
def test_an_elementwise_expression_is_written_per_half_and_kept_packed(line, expected):
    body = LOOP.replace("LINE", line)
    tuple_form = migrate(body, "tuple")
    if expected is None:
        assert [code for code, _, _ in blocking(tuple_form)] == ["G2L100"] and not tuple_form.changed
        return
    assert blocking(tuple_form) == []
    assert expected in tuple_form.source
    assert any(run(tuple_form.source))
    packed = migrate(body, "packed")
    assert blocking(packed) == []
    assert line.split("\n")[-1].strip() in packed.source  # elementwise over the packed tensor, as written
    if "h0" in line:
        assert "h0 = torch.zeros(1, 3, 2 * 8)" in packed.source  # joined with the state: twice as wide
    packed_namespace = {}
    exec(compile(packed.source, "packed.py", "exec"), packed_namespace)
    packed_namespace["run"]()


def test_a_state_joined_in_a_product_with_an_unnamed_factor_stays_a_factor():
    # `h * m + h0 * (1 - m)`: which factor of `h0 * (1 - m)` has the state's shape is told by a
    # mask's name; the tuple form needs no answer (h0 is the same for both halves).
    body = LOOP.replace("LINE", "m = mask\n        h = h * m + h0 * (1 - m)")
    tuple_form = migrate(body, "tuple")
    assert blocking(tuple_form) == []
    assert "h = (h[0] * m + h0 * (1 - m), h[1] * m + h0 * (1 - m))" in tuple_form.source
    assert any(run(tuple_form.source))


def test_a_feature_difference_of_two_states_reads_h():
    body = LOOP.replace("LINE", "delta = (h - h_old).norm()\n        print(float(delta))")
    tuple_form = migrate(body, "tuple")
    assert blocking(tuple_form) == []
    assert any(run(tuple_form.source))


SPLIT_LOOP = """
def run(steps=4):
    policy = Policy()
    h = policy.init_hidden(3)
    for t in range(steps):
        new = []
        CUT
            logits, h_i = policy(torch.randn(1, 1, 4), PIECE)
            new.append(h_i)
        JOIN
    return h
"""

# (how the state is cut, the piece handed to the policy, how the pieces are joined, the cut in tuple form)
CUTS = [
    ("for h_i in h.unbind(1):", "h_i.unsqueeze(1)", "h = torch.cat(new, dim=1)", "list(zip(h.unbind(1), c.unbind(1)))"),
    ("for h_i in h.unbind(1):", "h_i.unsqueeze(1)", "h = torch.stack([p.squeeze(1) for p in new], dim=1)",
     "list(zip(h[0].unbind(1), h[1].unbind(1)))"),
    ("for i, h_i in enumerate(h.split(1, dim=1)):", "h_i", "h = torch.cat(new, dim=1)", "list(zip(h.split(1, dim=1), c.split(1, dim=1)))"),
    ("for h_i in torch.chunk(h, 3, dim=-2):", "h_i", "h = torch.cat(new, dim=-2)", "list(zip(torch.chunk(h, 3, dim=-2), torch.chunk(c, 3, dim=-2)))"),
    ("hs = h.split(1, dim=1)\n        for i in range(3):", "hs[i]", "h = torch.cat(new, dim=1)", "hs = list(zip(h.split(1, dim=1), c.split(1, dim=1)))"),
]


@pytest.mark.parametrize("cut, piece, join, written", CUTS, ids=[f"{cut.split(chr(10))[0]} {join}" for cut, _, join, _ in CUTS])
def test_a_state_cut_per_environment_is_cut_per_half_and_its_pieces_paired(cut, piece, join, written):
    body = SPLIT_LOOP.replace("CUT", cut).replace("PIECE", piece).replace("JOIN", join)
    tuple_form = migrate(body, "tuple")
    assert blocking(tuple_form) == []
    assert written in tuple_form.source
    seen = run(tuple_form.source)
    assert len(seen) == 12 and any(seen)


@pytest.mark.parametrize("line", [
    "h = torch.stack(torch.unbind(h, 1), 1)",
    "h = torch.cat(h.split(1, dim=1), dim=1) * 1.0",
    "h = torch.stack([p * 0.5 for p in h.unbind(1)], 1)",
    "self_h = [h]\n        self_h[0] = torch.stack(h.unbind(1), 1)\n        h = self_h[0]",
])
def test_a_state_cut_and_joined_back_at_once_joins_each_halfs_pieces(line):
    tuple_form = migrate(LOOP.replace("LINE", line), "tuple")
    assert blocking(tuple_form) == []
    assert len(run(tuple_form.source)) == 5 and any(run(tuple_form.source))


def test_a_packed_state_cut_and_joined_back_along_the_same_dimension_stays_as_written():
    packed = migrate(LOOP.replace("LINE", "h = torch.stack(torch.unbind(h, 1), 1)"), "packed")
    assert blocking(packed) == [] and "h = torch.stack(torch.unbind(h, 1), 1)" in packed.source
    namespace = {}
    exec(compile(packed.source, "packed.py", "exec"), namespace)
    assert namespace["run"]().shape == (1, 3, 16)


def test_a_packed_state_cut_along_a_dimension_counted_from_the_back_stays_as_written():
    body = SPLIT_LOOP.replace("CUT", "for h_i in h.split(1, dim=-2):").replace("PIECE", "h_i").replace("JOIN", "h = torch.cat(new, dim=-2)")
    packed = migrate(body, "packed")
    assert blocking(packed) == []
    assert "for h_i in h.split(1, dim=-2):" in packed.source
    namespace = {}
    exec(compile(packed.source, "packed.py", "exec"), namespace)
    assert namespace["run"]().shape == (1, 3, 16)


@pytest.mark.parametrize("state, cut", [
    ("tuple", "for h_i in h.split(4, dim=-1):"),  # the hidden dimension: a piece is part of h
    ("packed", "for h_i in h.split(4, dim=-1):"),
    ("packed", "for h_i in h.unbind(2):"),  # counted from the front: the last one of this 3-D state
])
def test_a_state_cut_along_its_hidden_dimension_or_a_packed_one_from_the_front_is_refused(state, cut):
    body = SPLIT_LOOP.replace("CUT", cut).replace("PIECE", "h_i.unsqueeze(1)").replace("JOIN", "h = torch.cat(new, dim=1)")
    migration = migrate(body, state)
    findings = blocking(migration)
    assert findings and findings[0][0] == "G2L100" and "cuts the" in findings[0][2]
    assert not migration.changed


def test_a_grucell_state_cut_per_row_is_paired():
    source = HEADER + textwrap.dedent("""
        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)

            def forward(self, x, h):
                return self.cell(x, h)


        def run(steps=3):
            policy = Policy()
            h = torch.zeros(3, 8)
            for t in range(steps):
                rows = [policy(torch.randn(1, 4), h_i.unsqueeze(0)) for h_i in h.unbind(0)]
                h = torch.cat(rows, dim=0)
            return h
    """)
    migration = migrate_source(source, Options(state="tuple"))
    assert blocking(migration) == []
    namespace = {}
    exec(compile(migration.source, "cell.py", "exec"), namespace)
    h, c = namespace["run"]()
    assert h.shape == c.shape == (3, 8) and c.abs().sum() > 0


SPREAD = """
class Agent:
    def __init__(self):
        self.policy = Policy()
        self.observations = []
        self.states = []

    def act(self, steps=4):
        h = self.policy.init_hidden(3)
        for t in range(steps):
            self.observations.append(torch.randn(1, 3, 4))
            self.states.append(h.detach())
            logits, h = self.policy(torch.randn(1, 3, 4), h)
        return h

    def update(self, obs, h0):
        logits, _ = self.policy(obs, h0)
        return logits.pow(2).mean()


def batch(agent):
    obs = torch.cat(agent.observations, dim=1)
    h0 = torch.cat(agent.states, dim=1)
    return obs, h0


def run():
    agent = Agent()
    agent.act()
    agent.act()
    CALL
"""


@pytest.mark.parametrize("call", [
    "return agent.update(*batch(agent))",
    "data = batch(agent)\n    return agent.update(*data)",
])
def test_a_batch_spread_over_the_parameters_keeps_the_stored_pair_whole(call):
    for state in ("tuple", "packed"):
        migration = migrate(SPREAD.replace("CALL", call), state)
        assert blocking(migration) == []
        namespace = {}
        exec(compile(migration.source, "spread.py", "exec"), namespace)
        assert namespace["run"]().item() >= 0
    # tuple: the batched pair is returned whole, at the position the spread gives `h0`
    assert "return obs, (h0, c0)" in migrate(SPREAD.replace("CALL", call), "tuple").source


@pytest.mark.parametrize("call, change", [
    # a default after the star: the engine cannot tell which parameters the items fill
    ("return agent.update(*batch(agent))", ("def update(self, obs, h0):", "def update(self, obs, h0, scale=1.0):")),
    # a parameter's `*args`: what its callers pass is not followed
    ("return forward_all(agent, *batch(agent))", ("def run():", "def forward_all(agent, *args):\n    return agent.update(*args)\n\n\ndef run():")),
])
def test_a_spread_whose_items_are_not_known_stays_a_finding(call, change):
    source = SPREAD.replace("CALL", call).replace(*change)
    migration = migrate(source, "tuple")
    assert [code for code, _, _ in blocking(migration)].count("G2L101") >= 1
    assert any("is called with * or ** arguments" in message for _, _, message in blocking(migration))
    assert not migration.changed


def test_pieces_unpacked_into_names_are_pairs():
    body = """
def run():
    policy = Policy()
    h = policy.init_hidden(2)
    logits, h = policy(torch.randn(1, 2, 4), h)
    a, b = h.chunk(2, dim=1)
    logits, a = policy(torch.randn(1, 1, 4), a)
    return policy(torch.randn(1, 1, 4), b)[1]
"""
    migration = migrate(body, "tuple")
    assert blocking(migration) == []
    assert "a, b = list(zip(h[0].chunk(2, dim=1), h[1].chunk(2, dim=1)))" in migration.source
    namespace = {}
    exec(compile(migration.source, "pieces.py", "exec"), namespace)
    h, c = namespace["run"]()
    assert h.shape == c.shape == (1, 1, 8)


def test_pieces_unpacked_into_names_held_as_two_are_refused():
    # joined back by a batch rule, `a` and `b` become split names (a, a_c): the cut is not written as pairs
    body = """
def run():
    policy = Policy()
    h = policy.init_hidden(2)
    for t in range(3):
        logits, h = policy(torch.randn(1, 2, 4), h)
        a, b = torch.chunk(h, 2, 1)
        h = torch.cat([a * 0.5, b], 1)
    return h
"""
    migration = migrate(body, "tuple")
    assert [(code, "unpacked into names that hold the hidden state as two" in message) for code, _, message in blocking(migration)] == [("G2L100", True)]
    assert not migration.changed


def test_a_number_added_to_the_state_stays_a_number():
    # `h + self.eps` with `self.eps = 0.1`: joined with the state, but no tensor, so no state
    body = """
class Scaled:
    def __init__(self):
        self.eps = 0.1
        self.policy = Policy()

    def run(self):
        h = self.policy.init_hidden(3)
        for t in range(3):
            logits, h = self.policy(torch.randn(1, 3, 4), h)
            h = h + self.eps
        return h


def run():
    return Scaled().run()
"""
    tuple_form = migrate(body, "tuple")
    assert blocking(tuple_form) == [] and "h = (h[0] + self.eps, h[1] + self.eps)" in tuple_form.source
    assert any(run(tuple_form.source))
    packed = migrate(body, "packed")
    assert blocking(packed) == [] and "self.eps = 0.1" in packed.source


def test_a_reset_value_made_by_a_fresh_factory_is_written_for_each_half_and_refused_packed():
    # Session 35: `policy.init_hidden(3)` ran once per half, paired with h0. Since session 39 a factory
    # of a fresh tensor makes one at each call, and this call is stored as no state: the tuple form
    # writes the reset value for each half as it is (zeros for h and c alike), and the packed form
    # cannot widen the call, as the factory also makes the state elsewhere (G2L100, nothing written).
    body = LOOP.replace("LINE", "h = torch.where(done, policy.init_hidden(3) * 0 + h0, h)")
    tuple_form = migrate(body, "tuple")
    assert blocking(tuple_form) == []
    assert "h = (torch.where(done, policy.init_hidden(3) * 0 + h0, h[0]), torch.where(done, policy.init_hidden(3) * 0 + h0, h[1]))" in tuple_form.source
    assert any(run(tuple_form.source))
    packed = migrate(body, "packed")
    assert [(code, line) for code, line, _ in blocking(packed)][:1] == [("G2L100", 23)] and not packed.changed
