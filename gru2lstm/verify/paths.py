"""Public methods that carry the hidden state, called directly: paths the drive never reaches.

Two kinds of public method are called on each model after the run:

- a method with a parameter named like a state (`hidden_state`, `hx`, `rnn_hxs`, ...) and at
  most one other required one (the observation), e.g. `get_action(obs, hidden_state=None)`:
  without a state (when the parameter has a default) and with one (the state the first call
  returned, else the live state the probe found in the model);
- a state initializer, named like `init_hidden`, `initial_state`, `zero_state` (no required
  parameter, or one batch size, given 1).

What each call raised and returned, and where in the return the state lies, is kept for the
`interface` check.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Optional

import torch

from gru2lstm.verify.interface import is_state_parameter
from gru2lstm.verify.recorder import Recorder, recurrent_modules

INITIALIZER = re.compile(r"(init|zero).*(hidden|state|hx)|(hidden|state|hx).*(init|zero)")
BATCH_NAMES = ("batch", "batch_size", "bsz", "n", "num_envs", "n_envs", "num_processes")


@dataclass
class PathCall:
    """One call of a public method that takes or returns the state."""

    method: str
    args: str  # how it was called, e.g. "obs, state"
    with_state: bool = False
    error: Optional[str] = None  # what the call raised
    returned: Any = None  # the return value (tensors detached)
    position: Optional[tuple] = None  # where the returned value holds the state ((): itself, (i,): element i)

    @property
    def label(self) -> str:
        return f"{self.method}({self.args})"


@dataclass(frozen=True)
class StateMethod:
    state: Optional[str]  # the state parameter (None: an initializer)
    default: Any  # the state parameter's default, or inspect.Parameter.empty
    other: Optional[str]  # the one other required parameter (the observation, or an initializer's batch size)


def state_methods(cls: Any) -> dict:
    """{method name: StateMethod} of the public methods that take or initialize the state."""
    found = {}
    for name in dir(cls):
        if name.startswith("_") or name == "forward":  # forward: the drive's own path, or the model's internals
            continue
        function = inspect.getattr_static(cls, name, None)
        if not inspect.isfunction(function):
            continue
        parameters = list(inspect.signature(function).parameters.values())[1:]  # without self
        states = [p for p in parameters if is_state_parameter(p.name)]
        others = [p for p in parameters if p not in states and p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(states) == 1 and len(others) <= 1:
            found[name] = StateMethod(states[0].name, states[0].default, others[0].name if others else None)
        elif not states and INITIALIZER.search(name) and (not others or (len(others) == 1 and others[0].name in BATCH_NAMES)):
            found[name] = StateMethod(None, inspect.Parameter.empty, others[0].name if others else None)
    return found


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return tuple(_detached(v) for v in value)
    return value


def call_state_methods(model: Any, methods: dict, observation: Any, live_state: Any, describe_error) -> list:
    """[PathCall] for each of `methods` (see state_methods). `describe_error(exception)` says what
    was raised and where."""
    hidden_sizes = {m.hidden_size for _, m in recurrent_modules(model)}
    results = []
    recorder = Recorder(model)
    recorder.phase = "path"
    try:
        for name, method in sorted(methods.items()):
            function = getattr(model, name)
            if method.state is None:
                args = (1,) if method.other else ()
                result = _call(function, PathCall(name, "1" if method.other else ""), args, {}, recorder, describe_error)
                if result.error is None:
                    result.position = _sized_position(result.returned, hidden_sizes)
                results.append(result)
                continue
            observation_args = (observation,) if method.other else ()
            first_state = None
            for with_state in (False, True):
                if not with_state and method.default is inspect.Parameter.empty:
                    continue  # the state is required
                state = first_state if first_state is not None else live_state
                if with_state and state is None:
                    continue
                args_text = ", ".join((["obs"] if method.other else []) + (["state"] if with_state else []))
                kwargs = {method.state: state} if with_state else {}
                result = _call(function, PathCall(name, args_text, with_state), observation_args, kwargs, recorder, describe_error)
                if not with_state and result.position is not None:
                    first_state = _element(result.returned, result.position)
                results.append(result)
    finally:
        recorder.remove()
    return results


def _call(function, result: PathCall, args: tuple, kwargs: dict, recorder: Recorder, describe_error) -> PathCall:
    start = len(recorder.calls)
    try:
        with torch.no_grad():
            result.returned = _detached(function(*args, **kwargs))
    except Exception as error:  # noqa: BLE001 - the user's method may raise anything
        result.error = describe_error(error)
        return result
    calls = recorder.calls[start:]
    if calls and calls[-1].out is not None:
        # the state is the element of the return value equal to what the last recurrent call gave
        result.position = _equal_position(result.returned, calls[-1].out)
    return result


def element(call: PathCall, position: tuple) -> Any:
    """What `call` returned at `position` (None when its return has no such element)."""
    return _element(call.returned, position)


def _element(value: Any, position: tuple) -> Any:
    for i in position:
        if not isinstance(value, tuple) or i >= len(value):
            return None
        value = value[i]
    return value


def _positions(value: Any) -> list:
    """[(position, item)] of the value itself and of its elements."""
    items = [((), value)]
    if isinstance(value, tuple):
        items += [((i,), item) for i, item in enumerate(value)]
    return items


def _equal_position(value: Any, state: Any) -> Optional[tuple]:
    return next((position for position, item in _positions(value) if _same(item, state)), None)


def _sized_position(value: Any, hidden_sizes: set) -> Optional[tuple]:
    """Where an initializer's return holds a state: a tensor (or a pair of them) whose last
    dimension is a recurrent module's hidden size."""
    def sized(item):
        if isinstance(item, torch.Tensor):
            return item.dim() >= 1 and item.shape[-1] in hidden_sizes
        return isinstance(item, tuple) and len(item) == 2 and all(sized(v) for v in item)

    return next((position for position, item in _positions(value) if sized(item)), None)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return False
