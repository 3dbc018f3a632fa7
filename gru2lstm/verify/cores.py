"""Drive a bare recurrent module, `forward(x, h) -> (y, h')`, with no user driver (shape (a)).

    act(obs):   y, h = model(x, h) with x the observation as a batch of one step, (1, 1, *obs)
                ((1, *obs) for cells); the action is argmax(y)
    observe:    an episode end resets h
    train():    every step acted since the last train() is replayed from the state it was acted
                with (one call per step, with gradients); loss mean(y**2); one SGD step
    reset():    h = the model's initializer (init_hidden(), initial_state(1), ...: shape (b),
                a GRUCell-style agent), else None (the module's own default state)

The state lives in this adapter, not in the model: shapes, threading (interface), stored-state
replay (replay) and twin-core equivalence judge the module's forward alone.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import nn

from gru2lstm.verify.interface import Interface
from gru2lstm.verify.paths import state_methods
from gru2lstm.verify.recorder import recurrent_modules

LEARNING_RATE = 0.01


def forward_interface(model: nn.Module) -> Interface:
    cells = any(isinstance(m, nn.RNNCellBase) for _, m in recurrent_modules(model))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    rollout: list = []  # (x, the state it was acted with)
    initial = _initializer(model)
    carry: dict = {"state": initial()}

    def one_step(obs: Any) -> torch.Tensor:
        x = torch.as_tensor(obs, dtype=torch.float32)
        return x.unsqueeze(0) if cells else x.reshape(1, 1, *x.shape)

    def act(obs: Any) -> int:
        x = one_step(obs)
        with torch.no_grad():
            y, state = model(x, carry["state"])
        rollout.append((x, carry["state"]))
        carry["state"] = state
        return int(y.reshape(-1).argmax())

    def observe(reward: float, done: bool) -> None:
        if done:
            carry["state"] = initial()

    def train() -> Optional[float]:
        if not rollout:
            return None
        loss = torch.stack([model(x, state)[0].pow(2).mean() for x, state in rollout]).mean()
        rollout.clear()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def reset() -> None:
        carry["state"] = initial()

    return Interface(act=act, observe=observe, train=train, reset=reset)


def _initializer(model: nn.Module) -> Callable[[], Any]:
    """The model's own state initializer (see paths.state_methods), called with a batch of one;
    else a function returning None."""
    methods = {name: m for name, m in state_methods(type(model)).items() if m.state is None}
    if not methods:
        return lambda: None
    name, method = sorted(methods.items())[0]
    function = getattr(model, name)
    return (lambda: function(1)) if method.other else function
