"""Build a model, drive it through the harness's loop, and keep a trace of what happened.

The loop (the same for the original and the rewrite, under the same seeds) is the one the seeds'
experiments run: epochs of acting steps, episodes ending inside them, one train call per epoch:

    for each epoch:   reset()
                      for each step:  action = act(obs); observe(reward, done)
                                      (train() here too with train-every = "step")
                      loss = train()

Observations come from a seeded stream; the reward depends on the action, so learning has
something to learn; an episode ends every `episode_length` steps and at the last step.
"""

from __future__ import annotations

import gc
import inspect
import math
import random
import traceback
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from gru2lstm.verify.config import ConfigError
from gru2lstm.verify.interface import Interface, LoopDriver, is_iqn_style
from gru2lstm.verify.paths import call_state_methods, state_methods
from gru2lstm.verify.recorder import Recorder, all_zero, module_roots, named_parameters
from gru2lstm.verify.search import locate


class DriveError(Exception):
    """The user's code raised while being driven; `message` names the method and the line."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- building
def find_class(module: Any, class_name: Optional[str], label: str, need_iqn: bool) -> Any:
    if class_name:
        found = getattr(module, class_name, None)
        if found is None:
            candidates = _candidates(module, need_iqn=False)
            hint = f" (classes there: {', '.join(candidates)})" if candidates else ""
            raise ConfigError(f"{label}: no class or factory named {class_name!r}{hint}")
        if not callable(found):
            raise ConfigError(f"{label}: {class_name} is not a class or a function")
        return found
    candidates = _candidates(module, need_iqn=need_iqn)
    if len(candidates) == 1:
        return getattr(module, candidates[0])
    if not candidates:
        raise ConfigError(f"{label}: no model class with take_action/add_memory_ppo/train_step/start_epoch_action; pass --class (and --driver)")
    raise ConfigError(f"{label}: several model classes ({', '.join(candidates)}); pass --class NAME")


def _candidates(module: Any, need_iqn: bool) -> list:
    names = []
    for name, value in vars(module).items():
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        if need_iqn and not is_iqn_style(value):
            continue
        if not need_iqn and not issubclass(value, nn.Module):
            continue
        names.append(name)
    # a base class of another candidate is not the model
    return [n for n in names if not any(n != m and issubclass(getattr(module, m), getattr(module, n)) for m in names)]


def signature_text(target: Any) -> str:
    try:
        return f"{getattr(target, '__name__', target)}{inspect.signature(target)}"
    except (TypeError, ValueError):
        return str(target)


def build(cls: Any, kwargs: dict, seed: int, label: str) -> nn.Module:
    seed_everything(seed)
    try:
        model = cls(**kwargs)
    except Exception as error:  # noqa: BLE001 - the user's constructor may raise anything
        raise ConfigError(
            f"{label}: cannot build {getattr(cls, '__name__', cls)}(**{kwargs!r}): {type(error).__name__}: {error}\n"
            f"  constructor: {signature_text(cls)}\n"
            "  give its arguments with --kwargs JSON (or kwargs in [tool.gru2lstm.verify]); for arguments JSON\n"
            "  cannot express (an args object, a gym space) give --factory module:function, see docs/verify.md"
        ) from None
    if not module_roots(model):
        raise ConfigError(f"{label}: {getattr(cls, '__name__', cls)}(...) built a {type(model).__name__} that holds no torch.nn.Module")
    return model


def infer_obs_shape(kwargs: dict, model: Any) -> Optional[tuple]:
    for key in ("obs_shape", "observation_shape", "input_shape", "input_size", "obs_dim", "state_dim", "obs_size", "input_dim"):
        value = kwargs.get(key, None)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
            return tuple(value)
    for attr in ("obs_shape", "input_size", "obs_dim"):
        value = getattr(model, attr, None)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
            return tuple(value)
    return None


# --------------------------------------------------------------------------- env
@dataclass
class Env:
    """The observation stream, rewards and episode ends, identical for every run with the same seed.

    `steps` acting steps in all, split into `epochs` epochs (each starts with reset() and ends
    with train(), or trains after every step when `train_every` is "step"); an episode ends
    (done=True) every `episode_length` steps and at the last step. Epochs and episodes are not
    aligned on purpose: reset() then also happens mid-episode, which is where a reset that
    forgets c shows.
    """

    obs_shape: tuple
    steps: int
    epochs: int
    episode_length: int
    seed: int
    batch: Optional[int] = None
    train_every: str = "epoch"

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed + 1)
        lead = (self.batch,) if self.batch else ()
        total = self.steps + 8  # + the probe's steps
        self.observations = rng.standard_normal((total, *lead, *self.obs_shape)).astype(np.float32)
        self.epoch_length = max(1, math.ceil(self.steps / max(1, self.epochs)))

    def observation(self, index: int) -> np.ndarray:
        return self.observations[index].copy()

    def epoch_start(self, index: int) -> bool:
        return index % self.epoch_length == 0

    def trains_after(self, index: int) -> bool:
        """Whether train() follows the step `index`: at each epoch's end (or every step)."""
        epoch_end = (index + 1) % self.epoch_length == 0 or index == self.steps - 1
        return self.train_every == "step" or epoch_end

    def reward(self, action: Any, index: int) -> Any:
        obs = self.observations[index]
        if self.batch:
            actions = np.asarray(action_values(action), dtype=np.float64).reshape(-1)
            signs = obs.reshape(self.batch, -1)[:, 0] > 0
            return np.where((actions[: self.batch] % 2 == 1) == signs, 1.0, -0.5).astype(np.float32)
        value = action_values(action)
        first = value[0] if isinstance(value, tuple) and value else value
        try:
            odd = int(first) % 2 == 1
        except (TypeError, ValueError):
            odd = False
        return 1.0 if odd == bool(obs.reshape(-1)[0] > 0) else -0.5

    def done(self, index: int) -> Any:
        done = (index + 1) % self.episode_length == 0 or index == self.steps - 1
        return np.full(self.batch, done) if self.batch else done


def action_values(action: Any) -> Any:
    """An action as plain Python values (ints, floats or tuples of them) for comparing and checking."""
    if isinstance(action, torch.Tensor):
        action = action.detach().cpu()
        return action.item() if action.numel() == 1 else tuple(action.reshape(-1).tolist())
    if isinstance(action, np.ndarray):
        return action.item() if action.size == 1 else tuple(action.reshape(-1).tolist())
    if isinstance(action, np.generic):
        return action.item()
    if isinstance(action, (tuple, list)):
        return tuple(action_values(a) for a in action)
    return action


# --------------------------------------------------------------------------- driving
@dataclass
class Probe:
    """Where the live state and a stored entry were found, after planting a grad-requiring state."""

    live: list = field(default_factory=list)  # [Match] for the state returned by the last act
    stored: list = field(default_factory=list)  # [Match] for the state the probed act received
    planted: bool = False
    planted_stored: list = field(default_factory=list)  # [Match] for the planted state, once stored
    plant_error: Optional[str] = None
    error: Optional[str] = None
    act_calls: list = field(default_factory=list)  # recurrent calls of the probe's acts


@dataclass
class Trace:
    label: str
    actions: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    trained: list = field(default_factory=list)  # per train call: did it run the recurrent module with grad
    act_calls: list = field(default_factory=list)  # per act: [Call]
    after_reset: list = field(default_factory=list)  # per act: "epoch", "episode" or None
    train_calls: list = field(default_factory=list)  # per train call: [Call]
    params: list = field(default_factory=list)  # per train call: {name: tensor} (when asked)
    error: Optional[str] = None
    error_phase: Optional[str] = None
    probe: Optional[Probe] = None
    action_space: Optional[int] = None
    recurrent: list = field(default_factory=list)  # [(name, type name)]
    paths: list = field(default_factory=list)  # [PathCall] of the public methods that carry the state
    loop: bool = False  # driven by a LoopDriver: acting and training told apart by autograd
    current: Optional[str] = None  # the primitive being called (for error messages)

    @property
    def ok(self) -> bool:
        return self.error is None


def _user_frame(error: BaseException, files: tuple) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if any(frame.filename.startswith(f) for f in files if f):
            return f" at {frame.filename}:{frame.lineno}"
    if frames:
        return f" at {frames[-1].filename}:{frames[-1].lineno}"
    return ""


def freeze_optimizers(model: Any) -> list:
    """Make every optimizer over the model's parameters a no-op (so inputs replay exactly)."""
    params = {id(p) for _, p in named_parameters(model)}
    frozen = []
    for obj in gc.get_objects():
        if issubclass(type(obj), torch.optim.Optimizer):
            if any(id(p) in params for group in obj.param_groups for p in group["params"]):
                obj.step = lambda *args, **kwargs: None  # type: ignore[method-assign]
                frozen.append(obj)
    return frozen


def _set_path(model: Any, path: str, value: Any) -> bool:
    """Assign `value` at a path like `self.a['k'][0]` (not through tuples). True if done."""
    import re

    tokens = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)\]", path[len("self"):])
    obj = model
    steps = []
    for attr, index in tokens:
        steps.append(("attr", attr) if attr else ("item", eval(index)))
    for kind, key in steps[:-1]:
        obj = getattr(obj, key) if kind == "attr" else obj[key]
    kind, key = steps[-1]
    if kind == "attr":
        setattr(obj, key, value)
        return True
    if isinstance(obj, (list, dict)):
        obj[key] = value
        return True
    if isinstance(obj, torch.Tensor):
        return False
    return False


def _planted(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(v.detach().clone().requires_grad_(True) for v in value)
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(True)
    return value


def drive(
    model: Any,
    iface: Any,
    env: Env,
    label: str,
    files: tuple,
    record_params: bool = False,
    param_names: Optional[list] = None,
    probe: bool = False,
    freeze: bool = False,
    action_space: Optional[int] = None,
) -> Trace:
    """Drive `model` through `iface` (an Interface, or a LoopDriver that owns the loop)."""
    trace = Trace(label=label)
    recorder = Recorder(model)
    trace.recurrent = [(name, type(m).__name__) for name, m in recorder.modules]
    if action_space is None and isinstance(iface, Interface):
        action_space = iface.action_space
    if action_space is None:
        value = getattr(model, "action_space", None)
        action_space = value if isinstance(value, int) and not isinstance(value, bool) else None
    trace.action_space = action_space
    if freeze:
        freeze_optimizers(model)
    named = dict(named_parameters(model))
    names = param_names if param_names is not None else list(named)

    def snapshot():
        return {n: named[n].detach().clone() for n in names if n in named}

    method = "?"
    try:
        if isinstance(iface, LoopDriver):
            method = "driver"
            recorder.phase = "loop"
            result = iface.function(model, list(env.obs_shape), action_space, seed=env.seed)
            if not isinstance(result, dict) or "actions" not in result:
                raise TypeError("the driver must return {'actions': [...], 'losses': [...]}")
            trace.actions = [action_values(a) for a in result["actions"]]
            trace.losses = [_loss_value(l) for l in result.get("losses", [])]
            trace.loop = True
            trace.act_calls = [[c] for c in recorder.calls if not c.grad]
            trace.after_reset = [None] * len(trace.act_calls)
            grad_calls = [c for c in recorder.calls if c.grad]
            trace.train_calls = [grad_calls]
            trace.trained = [bool(grad_calls)]
            if record_params:
                trace.params.append(snapshot())
            if probe:
                trace.probe = _probe_after(model, recorder)
        else:
            _drive_steps(model, iface, env, trace, recorder, record_params, snapshot)
            if probe:
                method, trace.current = "probe", None
                trace.probe = _probe(model, iface, env, recorder, env.steps)
        if probe:
            recorder.remove()  # the paths' own recorder sees their calls
            live = next((m.value for m in trace.probe.live if m.kind in ("pair", "packed", "h")), None)
            trace.paths = call_state_methods(
                model, state_methods(type(model)), env.observation(env.steps + 4), live,
                lambda error: f"{type(error).__name__}: {error}{_user_frame(error, files)}",
            )
    except Exception as error:  # noqa: BLE001 - report the user's exception, never raise it
        method = trace.current or method
        where = "driver" if isinstance(iface, LoopDriver) else _method_name(iface, method)
        trace.error = f"{where} raised {type(error).__name__}: {error}{_user_frame(error, files)}"
        trace.error_phase = method
    finally:
        recorder.remove()
    return trace


def _drive_steps(model, iface: Interface, env: Env, trace: Trace, recorder: Recorder, record_params: bool, snapshot) -> None:
    pending_reset = None
    method = "?"

    def call(phase, function, *args):
        nonlocal method
        recorder.phase = method = phase
        trace.current = phase
        return function(*args)

    for index in range(env.steps):
        if env.epoch_start(index) and iface.reset is not None:
            call("reset", iface.reset)
            pending_reset = "epoch"
        recorder.step = index
        start = len(recorder.calls)
        action = call("act", iface.act, env.observation(index))
        trace.act_calls.append(recorder.calls[start:])
        trace.actions.append(action_values(action))
        trace.after_reset.append(pending_reset)
        pending_reset = None
        reward, done = env.reward(action, index), env.done(index)
        if iface.observe is not None:
            call("observe", iface.observe, reward, done)
        if np.any(done):
            pending_reset = "episode"
        recorder.step = -1
        if iface.train is not None and env.trains_after(index):
            start = len(recorder.calls)
            loss = call("train", iface.train)
            calls = recorder.calls[start:]
            trained = any(c.grad for c in calls)
            trace.train_calls.append(calls)
            trace.trained.append(trained)
            trace.losses.append(_loss_value(loss))
            if record_params and trained:
                trace.params.append(snapshot())


def _method_name(iface: Interface, method: str) -> str:
    function = getattr(iface, method, None)
    name = getattr(function, "__name__", None)
    return f"{name}()" if name else f"{method}()"


def _loss_value(loss: Any) -> Any:
    if isinstance(loss, torch.Tensor):
        loss = loss.detach().cpu()
        return loss.item() if loss.numel() == 1 else tuple(loss.reshape(-1).tolist())
    if isinstance(loss, (np.generic, np.ndarray)):
        return np.asarray(loss).item() if np.asarray(loss).size == 1 else tuple(np.asarray(loss).reshape(-1).tolist())
    return loss


def loss_is_finite(loss: Any) -> bool:
    if loss is None:
        return True
    if isinstance(loss, (int, float)):
        return math.isfinite(loss)
    if isinstance(loss, tuple):
        return all(loss_is_finite(v) for v in loss)
    if isinstance(loss, dict):
        return all(loss_is_finite(_loss_value(v)) for v in loss.values())
    return True


def _probe(model: Any, iface: Interface, env: Env, recorder: Recorder, index: int) -> Probe:
    """After the run: reset; two acts -> where is the live state? one more act -> where was the
    state it received stored? Then plant a grad-requiring copy of the live state, act once more,
    and see whether what gets stored from it is detached."""
    probe = Probe()
    recorder.phase = "probe"
    if iface.reset is not None:
        iface.reset()
    no_done = np.zeros(env.batch, dtype=bool) if env.batch else False
    zero = np.zeros(env.batch, dtype=np.float32) if env.batch else 0.0
    calls = []

    def step(k):
        start = len(recorder.calls)
        iface.act(env.observation(index + k))
        calls.append(recorder.calls[start:])
        if iface.observe is not None:
            iface.observe(zero, no_done)
        return calls[-1]

    step(0)
    first = step(1)
    if not first or first[-1].out is None:
        probe.error = "act() made no recurrent call"
        return probe
    held_first = locate(model, first[-1].out_h, first[-1].out_c)
    received = step(2)
    probe.act_calls = calls
    if not received or received[0].h is None:
        probe.error = "the probed act() passed no state to the recurrent module"
        return probe
    held_second = locate(model, received[-1].out_h, received[-1].out_c)
    # the live state is held where both acts' returned states were found (storage moves on)
    second_paths = {m.path for m in held_second}
    probe.live = [m for m in held_first if m.path in second_paths]
    live = [m for m in held_second if m.path in {x.path for x in probe.live}]
    probe.stored = locate(model, received[0].h, received[0].c)
    # detachment: plant a grad-requiring copy of the live state, act, look at what was stored
    for match in live:
        if match.kind in ("pair", "packed", "h", "c") and _set_path(model, match.path, _planted(match.value)):
            probe.planted = True
    if not probe.planted:
        return probe
    try:
        planted = step(3)
    except Exception as error:  # noqa: BLE001 - e.g. .numpy() on a tensor that requires grad
        probe.planted = False
        probe.plant_error = f"{type(error).__name__}: {error}"
        return probe
    if planted and planted[0].h is not None:
        probe.planted_stored = locate(model, planted[0].h, planted[0].c)
    return probe


def _probe_after(model: Any, recorder: Recorder) -> Probe:
    """After a loop driver: where the last acting call's returned and received states are held."""
    probe = Probe()
    acting = [c for c in recorder.calls if not c.grad and c.out is not None]
    if not acting:
        probe.error = "no acting call of the recurrent module (with autograd off)"
        return probe
    last = acting[-1]
    probe.live = locate(model, last.out_h, last.out_c)
    if last.h is not None and not all_zero(last.h):
        probe.stored = locate(model, last.h, last.c)
    return probe
