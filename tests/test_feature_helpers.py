"""A helper that only reads a parameter as features (summaries.FeatureParameter), called with the
state and with other values: read at each call (the state's h), the helper unchanged; the other
values were taken for states (observations doubled into pairs, exit 0) or refused."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# a value head applied to the encoder's features and to the state
METHOD_HELPER = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.v = nn.Linear(8, 1)
            self.pi = nn.Linear(8, 3)

        def value(self, feat):
            return self.v(torch.relu(feat.float())) * feat.shape[-1]

        def step(self, obs, h):
            x = torch.relu(self.enc(obs))
            base = self.value(x)
            h = self.cell(x, h)
            return self.pi(h), self.value(h) - base, h
"""

# a module-level helper handed the layer to run (rt26 v10/v11)
LAYER_HELPER = """\
    import torch
    import torch.nn as nn


    def project(layer, t):
        return torch.tanh(layer(t))


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.msg = {msg}
            self.pi = nn.Linear(8, 3)

        def step(self, obs, h):
            x = project(self.enc, obs)
            h = self.cell(x, h)
            m = project(self.msg, h)
            return self.pi(h), m, h
"""

RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    h = torch.zeros(2, 8)
    for t in range(4):
        obs = torch.randn(2, 4)
        out, extra, h = agent.step(obs, h)
        if t == 2:
            h = torch.zeros(2, 8)
    (out.sum() + extra.sum()).backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("model", [METHOD_HELPER, LAYER_HELPER.format(msg="nn.Linear(8, 2)")], ids=["method", "layer-parameter"])
def test_a_helper_reading_the_state_and_observations_as_features_is_read_at_each_call(tmp_path, form, model):
    write(tmp_path, {"model.py": model, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    migrated = (tmp_path / "model.py").read_text()
    h = "h[0]" if form == "tuple" else "h.chunk(2, dim=-1)[0]"
    assert f"self.value({h})" in migrated or f"project(self.msg, {h})" in migrated
    assert "return self.v(torch.relu(feat.float())) * feat.shape[-1]" in migrated or "return torch.tanh(layer(t))" in migrated
    # the observations stay what they were: no pair, no doubled width
    assert "obs = torch.randn(2, 4)\n" in (tmp_path / "run.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


CORE = """\
    class Core(nn.Module):
        def forward(self, t):
            return t * 2
"""


def test_a_helper_handed_what_the_engine_cannot_tell_is_a_layer_is_refused_at_the_call(tmp_path, capsys):
    # `self.msg` is a module of the program: what it does with the state is no layer's reading
    write(tmp_path, {"model.py": LAYER_HELPER.format(msg="Core()") + CORE, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'model.py'}:20:31: G2L100 the hidden state `h` is passed to `project()`, which feeds it to its "
        "parameter `layer`, given `self.msg` here, which the engine cannot tell is a torch.nn layer; migrate this use by "
        "hand so that it handles the pair (h, c)"
    )


SPREAD = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.v = nn.Linear(8, 1)

        def value(self, feat):
            return self.v(torch.relu(feat))

        def parts(self, h):
            return (h,)

        def step(self, obs, h):
            x = torch.relu(self.enc(obs))
            base = self.value(x)
            h = self.cell(x, h)
            return self.value(*self.parts(h)) - base, h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_spread_over_a_parameter_only_read_as_features_is_refused(tmp_path, capsys, form):
    # the spread bound `feat` to the state, so the helper read `feat[0]`, the first row of the
    # encoder's features at the other call (exit 0, a wrong value)
    write(tmp_path, {"model.py": SPREAD, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'model.py'}:22:28: G2L100 the hidden state `self.parts(h)` is spread over the parameter `feat` of "
        "`value()`, which only reads it as features; migrate this use by hand so that it handles the pair (h, c)"
    )


# heads in a ModuleList, called through the list (a call the solver ties to Head.forward), and one
# more called directly with the encoder's features
LISTED_HEADS = """\
    import torch
    import torch.nn as nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.v = nn.Linear(8, 1)

        def forward(self, feat):
            return self.v(torch.relu(feat))


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.base_head = Head()
            self.heads = nn.ModuleList([Head() for _ in range(2)])

        def forward(self, obs, h):
            x = torch.relu(self.enc(obs))
            base = self.base_head(x)
            h = self.cell(x, h)
            return base, [hd(h) for hd in self.heads], h
"""

LISTED_RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    h = torch.zeros(2, 8)
    for t in range(3):
        base, outs, h = agent(torch.randn(2, 4), h)
    assert base.shape == (2, 1) and outs[0].shape == (2, 1), (base.shape, outs[0].shape)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_heads_called_through_a_list_read_the_state_at_the_call(tmp_path, form):
    # the solver bound `feat` to the state there, so the head read `feat[0]`, the first row of the
    # encoder's features at its direct call (exit 0, a wrong shape)
    write(tmp_path, {"model.py": LISTED_HEADS, "run.py": LISTED_RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "return self.v(torch.relu(feat))" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


TRACED_HEAD = """\
    import torch
    import torch.nn as nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 3)

        def forward(self, feat):
            return self.fc(feat)


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.head = Head()

        def forward(self, obs, h):
            h = self.cell(obs, h)
            return self.head(h), h
"""

TRACE_RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    h = torch.zeros(2, 8)
    for t in range(3):
        logits, h = agent(torch.randn(2, 4), h)
    assert logits.shape == (2, 3), logits.shape
    {trace}
    assert traced(torch.ones(5, 8)).shape == (5, 3)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_head_traced_on_the_state_reads_it_at_the_trace(tmp_path, form):
    # the trace bound `feat` to the state, so Head.forward read `feat[0]` at every call: the first
    # row of the features (exit 0, then a wrong shape)
    trace = "traced = torch.jit.trace(agent.head, (h,))"
    write(tmp_path, {"model.py": TRACED_HEAD, "run.py": TRACE_RUN.format(trace=trace), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "return self.fc(feat)" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


def test_a_head_traced_on_a_tuple_held_by_a_name_is_refused(tmp_path, capsys):
    trace = "example = (h,); traced = torch.jit.trace(agent.head, example)"
    write(tmp_path, {"model.py": TRACED_HEAD, "run.py": TRACE_RUN.format(trace=trace), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    findings = [line for line in capsys.readouterr().out.splitlines() if " G2L100 " in line]
    assert findings == [
        f"{tmp_path / 'run.py'}:10:54: G2L100 the hidden state `example` is handed to `torch.jit.trace` for the parameter "
        "`feat` of `Head.forward()`, which only reads it as features, in a tuple held by a name, which the engine cannot "
        "read apart there; migrate this use by hand so that it handles the pair (h, c)"
    ]


EVALUATED_HEAD = """\
    import torch
    import torch.nn as nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 3)

        def forward(self, feat):
            {body}


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.head = Head()

        def forward(self, obs, h):
            x = self.enc(obs)
            h = self.cell(x, h)
            return h, x
"""

EVALUATE_RUN = """\
    import torch

    from model import Agent


    def evaluate(net, feats):
        return net(feats)


    agent = Agent()
    h = torch.zeros(2, 8)
    for t in range(3):
        h, x = agent(torch.randn(2, 4), h)
        logits = evaluate(agent.head, h)
        base = evaluate(agent.head, x)
    assert logits.shape == (2, 3) and base.shape == (2, 3)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_module_of_the_program_that_only_reads_its_input_is_a_layer_a_helper_may_be_handed(tmp_path, form):
    # `evaluate(agent.head, h)` was refused: the engine could not tell `agent.head` is a layer
    write(tmp_path, {"model.py": EVALUATED_HEAD.format(body="return self.fc(torch.relu(feat))"), "run.py": EVALUATE_RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "return net(feats)" in (tmp_path / "run.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


def test_a_module_of_the_program_that_keeps_its_input_is_no_layer_a_helper_may_be_handed(tmp_path, capsys):
    body = "self.seen = feat\n            return self.fc(feat)"
    write(tmp_path, {"model.py": EVALUATED_HEAD.format(body=body), "run.py": EVALUATE_RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    findings = [line for line in capsys.readouterr().out.splitlines() if " G2L100 " in line]
    assert findings == [
        f"{tmp_path / 'run.py'}:14:35: G2L100 the hidden state `h` is passed to `evaluate()`, which feeds it to its "
        "parameter `net`, given `agent.head` here, which the engine cannot tell is a torch.nn layer; migrate this use by "
        "hand so that it handles the pair (h, c)"
    ]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("body", [
    "x = torch.relu(feat.float())\n            return self.v(x)",
    "x = torch.relu(feat)\n            y = x * 2\n            return self.v(y) * y.shape[-1]",
])
def test_a_helper_reading_its_parameter_through_local_names_is_read_at_each_call(tmp_path, form, body):
    # bound, the parameter joined the encoder's features and the state: the step's `x` was taken
    # for a state ("`x` holds the hidden state, but here it receives `self.enc(obs)`")
    model = METHOD_HELPER.replace("return self.v(torch.relu(feat.float())) * feat.shape[-1]", body)
    write(tmp_path, {"model.py": model, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    h = "h[0]" if form == "tuple" else "h.chunk(2, dim=-1)[0]"
    assert f"self.value({h})" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


@pytest.mark.parametrize("body", [
    "x = torch.relu(feat)\n            self.seen = x\n            return self.v(x)",
    "x = torch.relu(feat)\n            x = x * 2\n            return self.v(x)",
])
def test_a_local_name_that_keeps_the_parameter_or_is_bound_twice_is_no_feature_read(tmp_path, body):
    model = METHOD_HELPER.replace("return self.v(torch.relu(feat.float())) * feat.shape[-1]", body)
    write(tmp_path, {"model.py": model, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
