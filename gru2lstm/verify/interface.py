"""How the harness drives a model: four primitives, from the IQN-style methods or a user's driver.

The harness owns the loop (epochs, steps, episode ends, probes, the memory task); a model is
reached only through an `Interface`:

    act(observation) -> action        one acting step; the model keeps its own recurrent state
    observe(reward, done)             the outcome of the last action (optional)
    train() -> loss | None            one training call (the model may decide it is not ready)
    reset()                           the epoch / episode reset of the recurrent state

Models with the IQN-style interface of the seeds (`take_action(state)`,
`add_memory_ppo(reward, done)`, `train_step()`, `start_epoch_action()`) are detected, and so are
modules whose `forward(x, h)` returns `(y, h')` (driven by cores.py). Any other model gets a driver: a function `driver(model) -> Interface` named by `--driver module:function`.
Torch-free.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

IQN_METHODS = ("take_action", "add_memory_ppo", "train_step", "start_epoch_action")
# Parameter names that carry a hidden state (besides any name containing "hidden").
STATE_NAMES = ("h", "h0", "hx", "hxs", "hc", "rnn_hxs", "rnn_state", "recurrent_state")


@dataclass
class Interface:
    act: Callable[[Any], Any]
    observe: Optional[Callable[[float, bool], Any]] = None
    train: Optional[Callable[[], Any]] = None
    reset: Optional[Callable[[], Any]] = None
    # Vectorized models: the number of environments act() sees at once. act() then gets
    # observations of shape (batch, *obs_shape), observe() arrays of `batch` rewards and dones,
    # and must return `batch` actions.
    batch: Optional[int] = None
    action_space: Optional[int] = None  # number of discrete actions; None: read model.action_space


@dataclass
class LoopDriver:
    """A driver that owns the loop: `function(model, obs_shape, n_actions, seed=0)` returning
    `{"actions": [...], "losses": [...]}`. The harness then tells acting from training by
    autograd (recurrent calls with grad off act, with grad on train) and cannot probe storage."""

    function: Callable[..., Any]


class DriverError(Exception):
    """A --driver that cannot be loaded or does not return an Interface (exit 2)."""


def is_iqn_style(cls: Any) -> bool:
    return all(callable(getattr(cls, name, None)) for name in IQN_METHODS)


def is_state_parameter(name: str) -> bool:
    return name in STATE_NAMES or "hidden" in name


def is_forward_style(cls: Any) -> bool:
    """A module whose `forward(x, h)` takes the state second (and returns `(y, h')`): shape (a)."""
    import inspect

    forward = inspect.getattr_static(cls, "forward", None)
    if not inspect.isfunction(forward):
        return False
    parameters = list(inspect.signature(forward).parameters.values())[1:]  # without self
    return len(parameters) >= 2 and is_state_parameter(parameters[1].name)


def is_act_style(cls: Any) -> bool:
    """An actor-critic whose `act(obs, hidden, masks)` returns the next state: shape (c)."""
    import inspect

    act = inspect.getattr_static(cls, "act", None)
    if not inspect.isfunction(act):
        return False
    parameters = list(inspect.signature(act).parameters.values())[1:]  # without self
    return len(parameters) >= 3 and is_state_parameter(parameters[1].name) and "mask" in parameters[2].name


def iqn_interface(model: Any) -> Interface:
    return Interface(
        act=model.take_action,
        observe=model.add_memory_ppo,
        train=model.train_step,
        reset=model.start_epoch_action,
    )


def load_driver(spec: str, extra_paths: tuple = ()) -> Callable[..., Any]:
    """`package.module:function` -> the function; `extra_paths` are searched first.

    The driver's module is imported without staying in sys.modules (two fixtures may each
    have a `driver.py`)."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise DriverError(f"--driver must look like 'module:function', got {spec!r}")
    top = module_name.split(".")[0]
    saved = {n: m for n, m in sys.modules.items() if n == top or n.startswith(top + ".")}
    for name in saved:
        del sys.modules[name]
    saved_path = list(sys.path)
    sys.path[:0] = [p for p in extra_paths if p]
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - the user's module may raise anything
        raise DriverError(f"--driver {spec}: cannot import {module_name}: {type(error).__name__}: {error}") from None
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
        sys.modules.update(saved)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise DriverError(f"--driver {spec}: {module_name} has no function {function_name!r}")
    return function


def is_loop_driver(function: Callable[..., Any]) -> bool:
    """A driver with more than one required parameter owns the loop (see LoopDriver)."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [
        p for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) > 1


def builtin_shape(cls: Any) -> Optional[str]:
    """How the harness drives a model without a driver: None for the IQN methods (or nothing it
    knows), "forward(x, h)" for shapes (a) and (b), "act(obs, h, masks)" for shape (c)."""
    if is_iqn_style(cls):
        return None
    if is_forward_style(cls):
        return "forward(x, h)"
    if is_act_style(cls):
        return "act(obs, h, masks)"
    return None


def make_interface(model: Any, driver: Optional[Callable[[Any], Any]]) -> Any:
    """An Interface for `model` (IQN-style, a forward(x, h) module, or from an adapter driver), or a LoopDriver."""
    if driver is None:
        shape = builtin_shape(type(model))
        if shape is None:
            return iqn_interface(model)
        from gru2lstm.verify import cores  # imports torch

        return cores.forward_interface(model) if shape == "forward(x, h)" else cores.act_interface(model)
    if is_loop_driver(driver):
        return LoopDriver(driver)
    made = driver(model)
    if isinstance(made, dict):
        made = Interface(**made)
    if not isinstance(made, Interface) or not callable(made.act):
        raise DriverError(
            "the driver must return gru2lstm.verify.Interface(act=..., observe=..., train=..., reset=...), "
            f"got {type(made).__name__}"
        )
    return made
