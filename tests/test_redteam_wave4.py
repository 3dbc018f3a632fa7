"""Red team, wave 4 (our own small projects in the styles of agent-state records, actor/learner
queues, states moved between devices and numpy, traced or exported policies, and vectorised
loops): what the engine got wrong there, each case migrated and run, or refused with a finding
that names the place."""

from __future__ import annotations


import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched
from test_redteam_wave3b import POLICY, snapshot  # the policy file of the red-team projects

# ---------------------------------------------------------------- a policy traced or exported with an example state
TRACED = """\
    import io

    import torch

    from policy import Policy


    def trace(policy):
        x, h0 = torch.randn(1, 2, 6), policy.blank(2)
        return torch.jit.trace(policy, (x, h0))


    def export(policy):
        h0 = policy.blank(2)
        torch.onnx.export(policy, (torch.randn(1, 2, 6), h0), io.BytesIO(), input_names=["x", "h0"])


    def play(steps=3):
        policy = Policy()
        traced = trace(policy)
        h = policy.blank(2)
        for _ in range(steps):
            y, h = traced(torch.randn(1, 2, 6), h)
        return h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_among_the_example_inputs_of_a_trace_or_an_export_is_refused(tmp_path, capsys, form):
    # It was read as features: `torch.jit.trace(policy, (x, h0[0]))`, exit 0, and the trace failed.
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "export.py": TRACED})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "export.py:10:40: G2L100 the hidden state `h0` is handed to `torch.jit.trace` as an input of the module it runs" in out
    assert "export.py:15:54: G2L100 the hidden state `h0` is handed to `torch.onnx.export` as an input" in out



EXPORTED = """\
    import io

    import torch

    from policy import Policy


    def export():
        policy = Policy()
        x, h0 = torch.randn(1, 2, 6), policy.blank(2)
        traced = torch.jit.trace(policy, (x, h0))
        torch.jit.trace(policy, (x, torch.zeros(1, 2, 6)))
        try:
            torch.onnx.export(policy, (x, h0), io.BytesIO(), dynamo=False)
        except torch.onnx.OnnxExporterError as error:  # traced first; only the onnx package may be missing
            assert "not installed" in str(error)
        h = policy.blank(2)
        for _ in range(3):
            y, h = traced(torch.randn(1, 2, 6), h)
        y, h = policy(torch.randn(1, 2, 6), h)
        return h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_module_known_here_is_traced_and_exported_with_the_pair(tmp_path, form):
    # The example inputs go to forward()'s parameters: `h0` passes as it is, a fresh state is made as one.
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "export.py": EXPORTED})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    fresh = "(torch.zeros(1, 2, 6), torch.zeros(1, 2, 6))" if form == "tuple" else "torch.zeros(1, 2, 2 * 6)"
    assert f"torch.jit.trace(policy, (x, {fresh}))" in (tmp_path / "export.py").read_text()
    run_migrated(tmp_path, "import export\nexport.export()\n")

NAMED_EXAMPLE = """\
    import torch

    from policy import Policy


    def export():
        policy = Policy()
        example = (torch.randn(1, 2, 6), torch.zeros(1, 2, 6))
        traced = torch.jit.trace(policy, example)
        h = policy.blank(2)
        for _ in range(3):
            y, h = traced(torch.randn(1, 2, 6), h)
        y, h = policy(torch.randn(1, 2, 6), h)
        return h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_example_inputs_held_by_a_name_go_to_forward_by_position(tmp_path, form):
    # `example = (x, torch.zeros(...))` then `torch.jit.trace(policy, example)`: the fresh state was
    # left one tensor (exit 0, the trace failed on the LSTM); each position goes to its parameter.
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "export.py": NAMED_EXAMPLE})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    fresh = "(torch.zeros(1, 2, 6), torch.zeros(1, 2, 6))" if form == "tuple" else "torch.zeros(1, 2, 2 * 6)"
    assert f"example = (torch.randn(1, 2, 6), {fresh})" in (tmp_path / "export.py").read_text()
    run_migrated(tmp_path, "import export\nexport.export()\n")


# ---------------------------------------------------------------- the state carried in a record that is replaced
RECORDS = """\
    import dataclasses
    from typing import NamedTuple

    import torch

    from policy import Policy


    class Carry(NamedTuple):
        hidden: torch.Tensor
        steps: int


    @dataclasses.dataclass
    class Slot:
        hidden: torch.Tensor


    def step(policy, carry):
        y, h = policy(torch.randn(1, 2, 6), carry.hidden)
        return carry._replace(hidden=h, steps=carry.steps + 1)


    def play(steps=3):
        policy = Policy()
        carry = Carry(hidden=policy.blank(2), steps=0)
        slot = Slot(hidden=policy.blank(2))
        for _ in range(steps):
            carry = step(policy, carry)
            y, h = policy(torch.randn(1, 2, 6), slot.hidden)
            slot = dataclasses.replace(slot, hidden=h)
        return carry, slot
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_record_replaced_where_its_class_is_not_known_yet_is_migrated(tmp_path, form):
    # `carry` is a parameter, `slot` is carried round the loop: both were refused (G2L101
    # "passed to `carry._replace`", "passed to `dataclasses.replace`").
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "records.py": RECORDS})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import records\ncarry, slot = records.play()\nassert carry.steps == 3\n")


# ---------------------------------------------------------------- an actor thread hands (x, h) to a learner through a queue
ACTOR = """\
    import torch


    def act(policy, out_q, steps=3):
        h = policy.blank(2)
        for _ in range(steps):
            start = h
            with torch.no_grad():
                y, h = policy(torch.randn(1, 2, 6), h)
            out_q.put((torch.randn(1, 2, 6), start))
        out_q.put(None)
"""

LEARNER = """\
    import queue
    import threading

    from actor import act
    from policy import Policy


    def learn(policy, in_q):
        seen = 0
        while True:
            item = in_q.get()
            if item is None:
                return seen
            x, h = item
            y, _ = policy(x, h)
            y.sum().backward()
            seen += 1


    def main():
        policy = Policy()
        q = queue.Queue()
        thread = threading.Thread(target=act, args=(policy, q), kwargs={"steps": 4})
        thread.start()
        thread.join()
        return learn(policy, q)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_put_on_a_queue_by_a_thread_reaches_the_learner_that_gets_it(tmp_path, form):
    # Was refused: the state "passed to `out_q.put`", the queue "passed to `threading.Thread`" (G2L101).
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "actor.py": ACTOR, "learner.py": LEARNER})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import learner\nassert learner.main() == 4\n")


def test_a_thread_whose_arguments_are_not_written_out_is_still_refused(tmp_path, capsys):
    packed_args = LEARNER.replace('args=(policy, q), kwargs={"steps": 4}', "args=arguments").replace(
        "q = queue.Queue()", "q = queue.Queue()\n        arguments = (policy, q)")
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "actor.py": ACTOR, "learner.py": packed_args})
    before = snapshot(tmp_path)
    assert main(["rewrite", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert "is passed to `threading.Thread`, which the engine cannot follow" in capsys.readouterr().out


# ---------------------------------------------------------------- per-environment states in a dict, batched with a default
PER_ENV = """\
    import torch

    from policy import Policy


    def play(steps=4, n=3):
        policy = Policy()
        hidden = {}
        for t in range(steps):
            ids = [i for i in range(n) if (t + i) % 4]
            batch = torch.cat([hidden.get(i, policy.blank(1)) for i in ids], dim=1)
            y, batch = policy(torch.randn(1, len(ids), 6), batch)
            for k, i in enumerate(ids):
                hidden[i] = batch[:, k:k + 1]
        return hidden
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_batch_of_per_env_states_read_with_a_default_is_migrated(tmp_path, form):
    # `torch.cat([hidden.get(i, h0) for i in ids])` was refused: "built from pieces the engine
    # cannot trace back to a state" (G2L101), the default making each piece a choice.
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "per_env.py": PER_ENV})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import per_env\nassert len(per_env.play()) == 3\n")


# ---------------------------------------------------------------- a batched state split back into one state per environment
SPLIT_BACK = """\
    import torch

    from policy import Policy


    def play(steps=3, n=3):
        policy = Policy()
        hidden = [policy.blank(1) for _ in range(n)]
        for _ in range(steps):
            batch = torch.cat(hidden, dim=1)
            y, batch = policy(torch.randn(1, n, 6), batch)
            hidden = [h.unsqueeze(1) for h in batch.unbind(1)]
            per_env = list(torch.split(batch, 1, dim=1))
        return hidden, per_env
"""


def test_a_state_split_per_environment_is_a_sequence_of_pairs(tmp_path):
    # `batch.unbind(1)` was refused (G2L100 "used with `.unbind()`, which the engine does not know"),
    # `list(torch.split(batch, 1, dim=1))` too (G2L102 "an element of an unknown iterable").
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "split_back.py": SPLIT_BACK})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    text = (tmp_path / "split_back.py").read_text()
    assert "for h in list(zip(batch.unbind(1), batch_c.unbind(1)))]" in text
    assert "list(zip(torch.split(batch, 1, dim=1), torch.split(batch_c, 1, dim=1)))" in text
    run_migrated(tmp_path, "import split_back\nhidden, per_env = split_back.play()\nassert len(hidden[0]) == len(per_env[0]) == 2\n")


def test_packed_a_split_along_a_batch_dimension_counted_from_the_front_is_kept(tmp_path):
    # the state's rank (3, an nn.GRU's) makes dim=1 its batch dimension (rules/packed_dims.py)
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "split_back.py": SPLIT_BACK})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "for h in batch.unbind(1)]" in (tmp_path / "split_back.py").read_text()
    run_migrated(tmp_path, "import split_back\nhidden, per_env = split_back.play()\nassert hidden[0].shape[-1] == per_env[0].shape[-1]\n")


def test_packed_a_split_of_a_reshaped_state_counted_from_the_front_is_refused(tmp_path, capsys):
    # Dimension 0 of this 3-D state is its layers (kept); after `transpose(0, 2)` it is the hidden one.
    code = """\
        import torch
        import torch.nn as nn

        core = nn.GRU(4, 8)
        h = torch.zeros(1, 3, 8)
        out, h = core(torch.randn(1, 3, 4), h)
        layers = list(h.detach().unbind(0))
        units = list(h.transpose(0, 2).unbind(0))
    """
    write(tmp_path, {"run.py": code})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "`h.detach().unbind(0)`" not in out
    assert "run.py:8:14: G2L100 `h.transpose(0, 2).unbind(0)` cuts the packed hidden state" in out


LAYERS = """\
    import torch
    import torch.nn as nn


    def play(steps=3):
        core = nn.GRU(4, 8, num_layers=2)
        head = nn.Linear(8, 3)
        h = torch.zeros(2, 1, 8)
        for _ in range(steps):
            out, h = core(torch.randn(1, 1, 4), h)
            low, top = h.unbind(0)
            q = head(top)
        return q
"""


def test_each_position_of_a_split_state_is_a_state(tmp_path):
    # `low, top = h.unbind(0)` took the positions for plain values: `head(top)` was left reading a
    # pair (tuple form, exit 0, TypeError).
    write(tmp_path, {"layers.py": LAYERS})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "head(top[0])" in (tmp_path / "layers.py").read_text()
    run_migrated(tmp_path, "import layers\nlayers.play()\n")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_split_joined_again_in_one_expression_or_through_a_name_is_migrated(tmp_path, form):
    # `torch.stack(torch.unbind(h, 1), 1)`: the batch line `hs, cs = zip(*C)` was written from the
    # source of C, which missed the split's rewrite (exit 0, ValueError).
    code = """\
        import torch
        import torch.nn as nn


        def play(steps=3):
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for _ in range(steps):
                out, h = core(torch.randn(1, 2, 4), h)
                h = torch.stack(torch.unbind(h, 1), 1)
            return h
    """
    write(tmp_path, {"joined.py": code})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import joined\njoined.play()\n")
    if form == "tuple":  # packed: a cut through a name is refused along a dimension counted from the front
        named = code.replace("h = torch.stack(torch.unbind(h, 1), 1)", "parts = torch.unbind(h, 1)\n            h = torch.stack(parts, 1)")
        write(tmp_path, {"joined.py": named})
        assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
        run_migrated(tmp_path, "import joined\njoined.play()\n")


def test_a_module_not_known_where_it_is_traced_on_a_named_example_is_refused(tmp_path, capsys):
    # `def trace(policy): example = (x, torch.zeros(...)); torch.jit.trace(policy, example)`: nothing
    # bound the example to forward(), the fresh state stayed one tensor, exit 0 and the trace failed
    traced = NAMED_EXAMPLE.replace("""    def export():
        policy = Policy()
        example = (torch.randn(1, 2, 6), torch.zeros(1, 2, 6))
        traced = torch.jit.trace(policy, example)
""", """    def trace(policy):
        example = (torch.randn(1, 2, 6), torch.zeros(1, 2, 6))
        return torch.jit.trace(policy, example)


    def export():
        policy = Policy()
        traced = trace(policy)
""")
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "export.py": traced})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert "export.py:8:28: G2L101 an instance of `Policy` is run by `torch.jit.trace` on example inputs, which the engine cannot follow" in capsys.readouterr().out


CHECKPOINTED = """\
    import torch
    from torch.func import functional_call
    from torch.utils.checkpoint import checkpoint

    from policy import Policy


    def train(steps=3):
        policy = Policy()
        h = h0 = policy.blank(2)
        with torch.no_grad():
            for _ in range(steps):
                y, h = policy(torch.randn(1, 2, 6), h)
        y, _ = {call}
        y.sum().backward()
"""


@pytest.mark.parametrize("call, column", [
    # reentrant; with use_reentrant=False it is followed into forward() (test_wrong_refusals37.py)
    ("checkpoint(policy, torch.randn(4, 2, 6), h0)", 23),
    ("functional_call(policy, dict(policy.named_parameters()), (torch.randn(4, 2, 6), h0))", 28),
])
def test_a_module_called_by_a_torch_function_with_the_state_is_refused(tmp_path, capsys, call, column):
    # `checkpoint(policy, x, h0)` runs `policy(x, h0)`; h0 was read as an operand and given as `h0[0]`:
    # exit 0 (another call of the policy was followed), and the LSTM got one tensor
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "train.py": CHECKPOINTED.replace("{call}", call)})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    name = call.partition("(")[0]
    assert f"train.py:14:{column}: G2L101 an instance of `Policy` is called by `{name}()` with the arguments after it" in capsys.readouterr().out
