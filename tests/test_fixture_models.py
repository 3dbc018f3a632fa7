"""Every golden pair is a real model: both sides build, act and train; the LSTM side gets (h, c)."""

from __future__ import annotations

import importlib.util
import math
import sys
import tomllib

import pytest

torch = pytest.importorskip("torch")

from conftest import golden_pairs  # noqa: E402

IQN = [folder for folder in golden_pairs() if (folder / "verify.toml").exists()]


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def build(folder, side):
    config = tomllib.loads((folder / "verify.toml").read_text())
    module = load(folder / f"{side}.py", f"fixture_{folder.name}_{side}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config["kwargs"].items()}
    torch.manual_seed(0)
    return getattr(module, config["class"])(**kwargs), config


def drive(model, config, steps):
    generator = torch.Generator().manual_seed(1)
    losses, actions = [], []
    for step in range(steps):
        observation = torch.rand(tuple(config["obs_shape"]), generator=generator).numpy()
        actions.append(model.take_action(observation))
        model.add_memory_ppo(reward=float(step % 3 == 0), done=step % 10 == 9)
        loss = model.train_step()
        if loss:
            losses.append(loss)
    return losses, actions


@pytest.mark.parametrize("folder", IQN, ids=[f.name for f in IQN])
@pytest.mark.parametrize("side", ["input", "expected"])
def test_model_acts_and_trains(folder, side):
    model, config = build(folder, side)
    steps = 2 * config["kwargs"]["rollout_length"] + 1
    losses, actions = drive(model, config, steps)
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert all(0 <= a < config["kwargs"]["action_space"] for a in actions)
    model.start_epoch_action()


@pytest.mark.parametrize("folder", IQN, ids=[f.name for f in IQN])
def test_lstm_side_trains_from_stored_pairs(folder):
    model, config = build(folder, "expected")
    lstm = next(m for m in model.modules() if isinstance(m, (torch.nn.LSTM, torch.nn.LSTMCell)))
    received = []
    lstm.register_forward_pre_hook(lambda module, args: received.append(args[1] if len(args) > 1 else None))
    drive(model, config, config["kwargs"]["rollout_length"])
    assert received and all(isinstance(hc, tuple) and len(hc) == 2 for hc in received)
    training = received[config["kwargs"]["rollout_length"]:]
    assert training, "no training-time call was recorded"
    assert all(hc[1].abs().sum() > 0 for hc in training), "the cell state reached training as zeros"
