"""Drive the common model shapes with no user driver.

Shapes (a) and (b): a module whose `forward(x, h)` returns `(y, h')`, e.g. a GRUCell agent with
`init_hidden()`:

    act(obs):   y, h = model(x, h) with x the observation as a batch of one step, (1, 1, *obs)
                ((1, *obs) for cells); the action is argmax(y)
    observe:    an episode end resets h
    train():    every step acted since the last train() is replayed from the state it was acted
                with (one call per step, with gradients); loss mean(y**2); one SGD step
    reset():    h = the model's initializer (init_hidden(), initial_state(1), ...: shape (b),
                a GRUCell-style agent), else None (the module's own default state)

Shape (c): an actor-critic whose `act(obs, h, masks)` returns the next state among its results,
as in preallocated-storage PPO code:

    act(obs):   results = model.act(x, h, masks) with x (1, *obs); masks is 0 on the first step
                of an episode, else 1 (the model's own masks reset the state at an episode end);
                h' is the result shaped like h, the action the first integer result
    train():    each step acted since the last train() is scored again with
                evaluate_actions(x, h, masks, action) from its stored state, with gradients;
                loss: the mean square of every result that requires grad; one SGD step
    reset():    h = the model's initializer; without one, zeros (1, H), (1, 2·H) (packed) or a
                pair, the first the model's act accepts

The state lives in these adapters, not in the model: shapes, threading (interface), stored-state
replay (replay) and twin-core equivalence judge the model's recurrent code alone.
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


def act_interface(model: nn.Module) -> Interface:
    hidden_size = recurrent_modules(model)[0][1].hidden_size
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    initial = _initializer(model)
    evaluate = getattr(model, "evaluate_actions", None)
    rollout: list = []  # (x, the state it was acted with, masks, action)
    carry: dict = {"state": None, "mask": 0.0}

    def start_states() -> list:
        state = initial()
        if state is not None:
            return [state]
        zeros = torch.zeros(1, hidden_size)
        return [zeros, torch.zeros(1, 2 * hidden_size), (zeros, zeros.clone())]

    def first_act(x: torch.Tensor, masks: torch.Tensor) -> tuple:
        """(state, results) of act from a fresh state, in the first form the model accepts."""
        first_error = None
        for state in start_states():
            rng = torch.get_rng_state()
            try:
                return state, model.act(x, state, masks)
            except Exception as error:  # noqa: BLE001 - a form the model does not take
                torch.set_rng_state(rng)
                first_error = first_error or error
        raise first_error

    def act(obs: Any) -> int:
        x = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
        masks = torch.full((1, 1), carry["mask"])
        with torch.no_grad():
            if carry["state"] is None:
                state, results = first_act(x, masks)
            else:
                state, results = carry["state"], model.act(x, carry["state"], masks)
        action = next(r for r in results if isinstance(r, torch.Tensor) and not r.is_floating_point())
        rollout.append((x, state, masks, action))
        carry["state"] = next(r for r in reversed(results) if _same_form(r, state))
        carry["mask"] = 1.0
        return int(action.reshape(-1)[0])

    def observe(reward: float, done: bool) -> None:
        if done:
            carry["mask"] = 0.0

    def train() -> Optional[float]:
        if not rollout or evaluate is None:
            return None
        terms = []
        for x, state, masks, action in rollout:
            terms += [r.float().pow(2).mean() for r in evaluate(x, state, masks, action) if isinstance(r, torch.Tensor) and r.requires_grad]
        rollout.clear()
        loss = torch.stack(terms).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def reset() -> None:
        carry["state"], carry["mask"] = None, 0.0

    return Interface(act=act, observe=observe, train=train, reset=reset)


def _same_form(value: Any, state: Any) -> bool:
    """Whether `value` is a state of the same form as `state` (a tensor of its shape, or a pair)."""
    if isinstance(state, torch.Tensor):
        return isinstance(value, torch.Tensor) and value.shape == state.shape and value.is_floating_point()
    return isinstance(value, tuple) and len(value) == len(state) and all(_same_form(v, s) for v, s in zip(value, state))
