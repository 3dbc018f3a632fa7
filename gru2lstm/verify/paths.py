"""Public methods that carry the hidden state, called directly: paths the drive never reaches.

A public method with a parameter named like a hidden state (`hidden_state`, `hx`, `rnn_hxs`, ...),
e.g. `get_action(obs, hidden_state=None)`, is called on each model twice: without a state (when
the parameter has a default) and with one (the state the first call returned, else the live state
the probe found in the model), an observation for its one other required parameter. What each
call raised, returned and passed to the recurrent modules is kept for the `interface` check.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from gru2lstm.verify.recorder import Recorder

STATE_NAMES = ("h", "h0", "hx", "hxs", "hc", "rnn_hxs", "rnn_state", "recurrent_state")


@dataclass
class PathCall:
    """One call of a state-carrying public method."""

    method: str
    with_state: bool
    error: Optional[str] = None  # what the call raised
    returned: Any = None  # the return value (tensors detached)
    calls: list = field(default_factory=list)  # [Call] of the recurrent modules during the call

    @property
    def label(self) -> str:
        return f"{self.method}(obs, state)" if self.with_state else f"{self.method}(obs)"


def is_state_parameter(name: str) -> bool:
    return name in STATE_NAMES or "hidden" in name


def state_methods(cls: Any) -> dict:
    """{method: (state parameter, its default or inspect.Parameter.empty, the other parameter or None)}
    for public methods whose parameters are a state and at most one more (the observation)."""
    found = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        function = inspect.getattr_static(cls, name, None)
        if not inspect.isfunction(function):
            continue
        parameters = list(inspect.signature(function).parameters.values())[1:]  # without self
        states = [p for p in parameters if is_state_parameter(p.name)]
        others = [p for p in parameters if p not in states and p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(states) == 1 and len(others) <= 1:
            found[name] = (states[0].name, states[0].default, others[0].name if others else None)
    return found


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v) for v in value) if isinstance(value, list) else tuple(_detached(v) for v in value)
    return value


def call_state_methods(model: Any, methods: dict, observation: Any, live_state: Any, describe_error) -> list:
    """[PathCall] for each method of `methods` (see state_methods), without and with a state.
    `describe_error(exception)` says what was raised and where."""
    results = []
    recorder = Recorder(model)
    recorder.phase = "path"
    try:
        for method, (state_name, default, other) in sorted(methods.items()):
            function = getattr(model, method)
            first_state = None
            for with_state in (False, True):
                if not with_state and default is inspect.Parameter.empty:
                    continue  # the state is required
                state = first_state if first_state is not None else live_state
                if with_state and state is None:
                    continue
                args = (observation,) if other else ()
                kwargs = {state_name: state} if with_state else {}
                start = len(recorder.calls)
                result = PathCall(method, with_state)
                try:
                    with torch.no_grad():
                        result.returned = _detached(function(*args, **kwargs))
                except Exception as error:  # noqa: BLE001 - the user's method may raise anything
                    result.error = describe_error(error)
                result.calls = recorder.calls[start:]
                if not with_state:
                    first_state = returned_state(result)
                results.append(result)
    finally:
        recorder.remove()
    return results


def returned_state(call: PathCall) -> Any:
    """The state a call returned: the element of the return value equal to the state the last
    recurrent call gave (the whole value when the method returns only the state)."""
    if call.error is not None or not call.calls or call.calls[-1].out is None:
        return None
    position = state_position(call.returned, call.calls[-1].out)
    return None if position is None else element(call.returned, position)


def state_position(value: Any, state: Any) -> Optional[tuple]:
    """Where `value` (a return value) holds `state` (a tensor or a pair): () for the value itself,
    (i,) for an element of a tuple or list. None when it does not."""
    if _same(value, state):
        return ()
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            if _same(item, state):
                return (i,)
    return None


def element(value: Any, position: tuple) -> Any:
    for i in position:
        if not isinstance(value, (tuple, list)) or i >= len(value):
            return None
        value = value[i]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return False
