"""The world-model idioms (PlaNet style): a model made by a factory of several classes, a helper
called with several modules, a list of results extended in place, a `map` over a tuple of states."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gru2lstm.cli import main
from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from test_rules import HEADER

MODELS = textwrap.dedent('''\
    import torch
    from torch import nn


    class Core(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRUCell(4, 8)

        def forward(self, x, h):
            return self.rnn(x, h)


    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 2)

        def forward(self, h, s):
            return self.fc(h) + s


    class Large(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 2)

        def forward(self, h, s):
            return self.fc(h) * s


    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)

        def forward(self, obs):
            return self.fc(obs)


    def decoder(small):
        if small:
            return Small()
        else:
            return Large()
''')

MAIN = textwrap.dedent('''\
    import torch
    from models import Core, Encoder, Large, decoder


    def twice(f, x, y):
        return f(x, y) + f(x, y)


    def train_mode(f):
        f.train()


    core = Core().to(device="cpu")
    head = decoder(True).to(device="cpu")
    encoder = Encoder().float()
    train_mode(head)
    train_mode(encoder)
    h = torch.zeros(3, 8)
    for t in range(4):
        x = encoder(torch.randn(3, 3))
        h = core(x, h)
        out = head(h, torch.ones(3, 2))
        both = twice(head, h, torch.ones(3, 2))
        again = twice(Large(), h, torch.ones(3, 2))
''')


def write(folder: Path, files: dict) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)


def test_a_model_made_by_a_factory_of_several_classes_runs_each_forward(tmp_path):
    # `decoder(...)` returns a Small or a Large, `.to()` returns the module: calling it runs the
    # forward() of both, and both only read `h` as features, so each call reads h there and both
    # stay as they are (summaries.FeatureParameter). So does a helper called with several modules
    # (`f` is the head and a Large); `train_mode` joins the head with the encoder, whose
    # forward() takes one argument: the calls with two do not run it.
    write(tmp_path, {"models.py": MODELS, "main.py": MAIN})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    models, program = (tmp_path / "models.py").read_text(), (tmp_path / "main.py").read_text()
    assert "return self.fc(h) + s" in models and "return self.fc(h) * s" in models
    assert "return f(x[0], y) + f(x[0], y)" in program and "out = head(h[0], torch.ones(3, 2))" in program
    assert "return self.fc(obs)" in models  # the encoder, also passed around, is left alone


GROWN = """
class T(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRUCell(4, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, belief, x, more: bool = False):
        belief = self.rnn(x, belief)
        mean = self.fc(belief)
        hidden = [belief, mean]
        if more:
            GROW
        return hidden


def run():
    model = T()
    belief = torch.zeros(1, 8)
    for _ in range(3):
        belief, mean = model(belief, torch.randn(1, 4))
        belief, mean, std, var = model(belief, torch.randn(1, 4), True)
        print(mean + std + var)
"""


def grown(grow: str):
    return migrate_source(HEADER + textwrap.dedent(GROWN).replace("GROW", grow))


def refusals(migration) -> list:
    return migration.findings


def test_items_added_to_a_list_literal_keep_their_positions():
    # `hidden` is [belief, mean] or [belief, mean, std, var]: every caller unpacks it by position,
    # so only position 0 is the state, however the items were added.
    for grow in ("hidden += [mean.exp(), mean * 2]", "hidden.extend([mean.exp(), mean * 2])",
                 "hidden.append(mean.exp())\n            hidden.append(mean * 2)"):
        migration = grown(grow)
        assert not refusals(migration), (grow, migration.findings)
        assert "mean = self.fc(belief[0])" in migration.source
        assert "print(mean + std + var)" in migration.source
        assert "belief = (\n        torch.zeros(1, 8),\n        torch.zeros(1, 8),\n    )" in migration.source


def test_items_added_where_the_length_is_not_known_make_the_list_a_sequence():
    # In a loop the list's length differs from one pass to the next: what is appended is an
    # element like any other, so `mean` joins `belief` and the mixed list is refused.
    migration = grown("for _ in range(2):\n                hidden.append(mean)")
    assert refusals(migration), migration.source


def test_a_name_that_may_hold_something_else_is_not_grown_by_position():
    # `hidden` may be a parameter's list (length unknown): `+=` is an update the engine cannot follow.
    code = GROWN.replace("hidden = [belief, mean]\n        if more:", "hidden = [belief, mean]\n        if x is None:\n            hidden = x\n        if more:")
    migration = migrate_source(HEADER + textwrap.dedent(code).replace("GROW", "hidden += [mean.exp(), mean * 2]"))
    assert refusals(migration)


TWO_CORES = """
class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.GRUCell(4, 8)
        self.b = nn.GRUCell(4, 8)
        self.fc = nn.Linear(16, 2)

    def forward(self, x, ha, hb):
        ha, hb = self.a(x, ha), self.b(x, hb)
        return self.fc(torch.cat([ha, hb], dim=1)), ha, hb


def run():
    model = Two().to("cpu").eval()
    ha, hb = torch.zeros(1, 8), torch.zeros(1, 8)
    for _ in range(3):
        y, ha, hb = model(torch.randn(1, 4), ha, hb)
        LINE
        print(y, out)
"""


def run_two_cores(line: str):
    """Migrate TWO_CORES with `line` in its loop; run the output when nothing is found."""
    migration = migrate_source(HEADER + textwrap.dedent(TWO_CORES).replace("LINE", line))
    if not migration.findings:
        namespace: dict = {}
        exec(compile(migration.source, "<migrated>", "exec"), namespace)
        namespace["run"]()
    return migration


def test_a_module_moved_and_put_in_eval_mode_is_the_module():
    # `.to("cpu").eval()`: the calls of `model` run Two.forward().
    migration = run_two_cores("out = 0")
    assert not migration.findings, migration.findings
    assert "ha, hb = (torch.zeros(1, 8), torch.zeros(1, 8)), (torch.zeros(1, 8), torch.zeros(1, 8))" in migration.source


def test_map_with_a_lambda_is_a_comprehension():
    # `map(lambda h: E, xs)` over states reads `h` in E as `[E for h in xs]` does; two iterables zip.
    migration = run_two_cores("out = list(map(lambda h, z: h.norm() + z, (ha, hb), (1, 2)))")
    assert not migration.findings, migration.findings
    assert "out = list(map(lambda h, z: h[0].norm() + z, (ha, hb), (1, 2)))" in migration.source


def test_map_over_states_beside_other_values_is_refused_precisely():
    migration = run_two_cores("out = list(map(lambda v: v.size(0), (ha, y)))")
    assert [finding.code for finding in migration.findings] == ["G2L101"]
    assert "`(ha, y)` holds hidden states (item 0) beside other values and is iterated by `map()`" in migration.findings[0].message


def test_map_with_a_function_that_is_not_a_lambda_is_refused():
    migration = run_two_cores("out = list(map(torch.Tensor.norm, (ha, hb)))")
    assert migration.findings and all("passed to `map`" in finding.message for finding in migration.findings)


def test_arithmetic_on_what_is_read_from_a_state_reads_h():
    # Neither side of `ha.norm() + 1` is a state: the read inside it is still a read of `h`.
    migration = run_two_cores("out = ha.size(0) * 2; print(ha.norm() + 1)")
    assert not migration.findings, migration.findings
    assert "out = ha[0].size(0) * 2; print(ha[0].norm() + 1)" in migration.source


APPENDED = """
class Replay:
    def __init__(self):
        self.count = 0

    def append(self, observation, reward):
        self.count += 1


class T(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRUCell(4, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, belief, xs):
        beliefs, means = [], []
        for x in xs:
            belief = self.rnn(x, belief)
            beliefs.append(belief)
            means.append(self.fc(belief))
        return torch.stack(beliefs), torch.stack(means)


def run():
    replay, model = Replay(), T()
    beliefs, means = model(torch.zeros(1, 8), torch.randn(3, 1, 4))
    replay.append(means, 1.0)
    print(beliefs[0].norm())
"""


def test_append_on_a_list_literal_is_the_list_s_even_when_a_class_of_the_program_has_an_append():
    # `beliefs, means = [], []` holds two lists: `.append()` there is not `Replay.append()`, which
    # would join `belief` with `means` through its parameters.
    migration = migrate_source(HEADER + textwrap.dedent(APPENDED))
    assert not migration.findings, migration.findings
    assert "means.append(self.fc(belief[0]))" in migration.source
    assert "replay.append(means, 1.0)" in migration.source


PLANNER = """
class Planner(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)
        self.fc = nn.Linear(8, 1)

    def forward(self, belief, candidates: int):
        B, H = belief.size(0), belief.size(1)
        belief = belief.unsqueeze(dim=1).expand(B, candidates, H).reshape(-1, H)
        belief = self.cell(torch.randn(B * candidates, 4), belief)
        READ
        return belief


def run():
    planner = Planner()
    store = torch.zeros(3, 2 * 4, 8)
    for t in range(2):
        store[t + 1] = planner(store[t].view(2, 4, 8)[:, 0], 4).view(8, 8)
"""


def planned(read: str, form: str = "packed"):
    return migrate_source(HEADER + textwrap.dedent(PLANNER).replace("READ", read), Options(state=form))


def test_packed_a_size_read_from_the_packed_state_is_not_doubled_again():
    # `H = belief.size(1)` is 2H already: expanding over candidates keeps it (it was doubled to 4H).
    migration = planned("print(B)")
    assert not migration.findings, migration.findings
    assert "belief = belief.unsqueeze(dim=1).expand(B, candidates, H).reshape(-1, H)" in migration.source


def test_packed_a_size_read_from_the_packed_state_for_features_is_refused():
    # `belief.view(-1, H)` read as features takes `h` (H wide), but `H` is the packed 2H.
    migration = planned("print(self.fc(belief.view(-1, H)))")
    assert [finding.code for finding in migration.findings] == ["G2L100"], migration.findings
    assert "`H` was read from the packed state" in migration.findings[0].message
