"""Every fixture of the corpus runs: input.py (GRU) and expected.py (LSTM) both act and train.

A folder fixtures/<style>/ takes part when it has a verify.toml:

    class = "Name"            # the model class, defined in input.py and in expected.py (in a
                              #   tree fixture: in one file of input/ and of expected/)
    kwargs = { ... }          # its constructor keywords (tiny sizes: this runs in the suite)
    obs_shape = [ ... ]       # the shape of one observation
    n_actions = N             # optional: every action must lie in range(N) (default: the
                              #   kwargs action_space or n_actions, when there is one)
    steps = S                 # optional: acting steps on the IQN interface (default 48)
    driver = "driver:drive"   # optional: module:function in the folder (see any driver.py)

Without a driver the model speaks the IQN interface: start_epoch_action(),
take_action(state) -> int, add_memory_ppo(reward, done), train_step() -> loss (0.0 or None
while there is nothing to train on). A driver is called as
drive(model, obs_shape, n_actions, seed=0) and returns {"actions": [...], "losses": [...]}.

Checked on both sides: at least two training steps with finite losses, parameters that changed
and stay finite, integer actions in range(n_actions). On the expected side also: training runs
through an LSTM, and every hidden state an LSTM or LSTMCell is given is a pair (h, c).
"""

from __future__ import annotations

import importlib.util
import math
import random
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import model_file
from gru2lstm.verify.loading import load_module as load_model_module

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CORPUS = sorted(p.parent for p in FIXTURES.glob("*/verify.toml"))


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@pytest.fixture
def folder_on_path(request):
    folder = request.param
    sys.path.insert(0, str(folder))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield folder
    finally:
        torch.set_num_threads(threads)
        sys.path.remove(str(folder))


def drive_iqn(model, obs_shape, steps, seed=0):
    rng = np.random.default_rng(seed)
    actions, losses = [], []
    model.start_epoch_action()
    for _ in range(steps):
        state = rng.standard_normal(obs_shape).astype(np.float32)
        actions.append(model.take_action(state))
        done = bool(rng.random() < 0.1)
        model.add_memory_ppo(float(rng.standard_normal()), done)
        loss = model.train_step()
        if loss is not None and float(loss) != 0.0:
            losses.append(float(loss))
        if done:
            model.start_epoch_action()
    return {"actions": actions, "losses": losses}


def parameters(model):
    if isinstance(model, torch.nn.Module):
        return [p.detach().clone() for p in model.parameters()]
    found = []
    for value in vars(model).values():
        if isinstance(value, torch.nn.Module):
            found.extend(p.detach().clone() for p in value.parameters())
    return found


def record_lstm_states(monkeypatch) -> list:
    """Wrap LSTM and LSTMCell forward: every call appends (grad enabled, the hx it was given)."""
    calls = []
    for cls in (torch.nn.LSTM, torch.nn.LSTMCell):
        original = cls.forward

        def forward(self, input, hx=None, _original=original):
            calls.append((torch.is_grad_enabled(), hx))
            return _original(self, input, hx)

        monkeypatch.setattr(cls, "forward", forward)
    return calls


@pytest.mark.parametrize("side", ["input", "expected"])
@pytest.mark.parametrize("folder_on_path", CORPUS, ids=[p.name for p in CORPUS], indirect=True)
def test_fixture_acts_and_trains(folder_on_path, side, monkeypatch):
    folder = folder_on_path
    config = tomllib.loads((folder / "verify.toml").read_text(encoding="utf-8"))
    module = load_model_module(model_file(folder, side), side).module
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    model = getattr(module, config["class"])(**config.get("kwargs", {}))
    lstm_calls = record_lstm_states(monkeypatch)
    before = parameters(model)
    assert before, "the model has no parameters to train"

    obs_shape = list(config["obs_shape"])
    kwargs = config.get("kwargs", {})
    n_actions = config.get("n_actions", kwargs.get("action_space", kwargs.get("n_actions")))
    if "driver" in config:
        module_name, _, function = config["driver"].partition(":")
        driver = load_module(folder / f"{module_name}.py", f"corpus_{folder.name}_{module_name}")
        result = getattr(driver, function)(model, obs_shape, n_actions, seed=0)
    else:
        result = drive_iqn(model, obs_shape, int(config.get("steps", 48)))

    actions, losses = result["actions"], result["losses"]
    assert len(actions) >= 2
    for action in actions:
        assert int(action) == action
        if n_actions is not None:
            assert 0 <= action < n_actions
    assert len(losses) >= 2, f"trained {len(losses)} time(s), expected at least 2"
    assert all(math.isfinite(loss) for loss in losses), losses

    if side == "expected":
        # the migrated model trains through an LSTM, and every state it is given is a pair (h, c)
        assert any(grad for grad, _ in lstm_calls), "no LSTM call with gradients: training bypassed the LSTM"
        for _, hx in lstm_calls:
            if hx is not None:
                assert isinstance(hx, tuple) and len(hx) == 2, type(hx)
                assert hx[0].shape == hx[1].shape

    after = parameters(model)
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(before, after)), "training changed no parameter"
