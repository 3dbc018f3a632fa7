"""The LSTM side of every golden pair that stores its state trains from stored (h, c) pairs."""

from __future__ import annotations

import importlib.util
import sys
import tomllib

import pytest

torch = pytest.importorskip("torch")

from conftest import golden_pairs  # noqa: E402

def config_of(folder):
    return tomllib.loads((folder / "verify.toml").read_text())


# Models on the IQN interface whose rollout length says when training happens (the others are
# driven by tests/test_corpus_runs.py through their drivers).
IQN = [
    folder
    for folder in golden_pairs()
    if (folder / "verify.toml").exists()
    and "driver" not in config_of(folder)
    and {"rollout_length", "action_space"} <= set(config_of(folder)["kwargs"])
]


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
    config = config_of(folder)
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


STORING = [f for f in IQN if config_of(f).get("stores_state", True)]


@pytest.mark.parametrize("folder", STORING, ids=[f.name for f in STORING])
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
