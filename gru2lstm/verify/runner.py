"""Run the checks for one rewritten file against its original: load, build, drive, compare."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

import torch

from gru2lstm.verify import checks as C
from gru2lstm.verify.config import ConfigError, VerifyConfig
from gru2lstm.verify.harness import (
    Env,
    Trace,
    build,
    drive,
    find_class,
    infer_obs_shape,
    loss_is_finite,
    seed_everything,
)
from gru2lstm.verify.interface import (
    DriverError,
    Interface,
    LoopDriver,
    builtin_shape,
    is_iqn_style,
    load_driver,
    make_interface,
)
from gru2lstm.verify.loading import (
    LoadError,
    git_original,
    git_package_overrides,
    load_module,
    package_location,
)
from gru2lstm.verify.recorder import named_parameters, recurrent_modules, state_tensors
from gru2lstm.verify.results import DEFAULT_CHECKS, CheckResult, VerifyReport
from gru2lstm.verify.twin import TwinError, make_twin


class OriginalFailed(Exception):
    """The original itself cannot be driven the way a check needs: the configuration is wrong (exit 2)."""


TRAIN_MORE = "raise --steps (or epochs), lower its rollout length in --kwargs, or set train-every = \"step\""


def _drive_text(config: VerifyConfig) -> str:
    per_epoch = -(-config.steps // config.epochs)
    train = "after every step" if config.train_every == "step" else "at each epoch's end"
    return f"{config.epochs} epochs of {per_epoch} acting steps ({config.steps} in all), train() {train}"


def _drive_advice(config: VerifyConfig) -> str:
    """How to drive the model as its experiment does: the config keys, or an adapter driver."""
    other = "epoch" if config.train_every == "step" else "step"
    return (
        f"  the drive: {_drive_text(config)}\n"
        "  drive it as its experiment does: in verify.toml (or [tool.gru2lstm.verify]) set steps, epochs or\n"
        f"  train-every, e.g.  train-every = \"{other}\"   or   steps = {config.steps * 2}\n"
        "  or write an adapter and pass --driver my_driver:adapt (docs/verify.md, Interfaces and drivers):\n"
        "      from gru2lstm.verify import Interface\n"
        "      def adapt(model):\n"
        "          return Interface(act=model.take_action, observe=model.add_memory_ppo,\n"
        "                           train=model.train_step, reset=model.start_epoch_action)"
    )


def _requested(config: VerifyConfig) -> tuple:
    if config.checks:
        return tuple(config.checks)
    return DEFAULT_CHECKS + (("memory",) if config.learn else ())


def run(
    rewritten: str | os.PathLike,
    config: VerifyConfig,
    original_text: Optional[str] = None,
    original_label: Optional[str] = None,
    original_overrides: Optional[dict] = None,
) -> VerifyReport:
    start = time.perf_counter()
    path = Path(rewritten)
    report = VerifyReport(rewritten=str(rewritten), original=original_label or "", class_name=config.class_name,
                          warnings=list(config.warnings))
    threads = torch.get_num_threads()
    # Small models on a shared CPU: one thread is several times faster than oversubscribed ones,
    # and the original and the rewrite run under the same settings either way.
    torch.set_num_threads(1)
    try:
        _run(path, config, report, original_text, original_label, original_overrides)
    except (ConfigError, DriverError) as error:
        report.usage_error = str(error)
        report.checks = []
    except OriginalFailed as error:
        # never a failed check against the port: the rewrite is only judged relative to an original that runs
        report.usage_error = f"{error}\n  the rewrite is not judged against an original that fails under the drive\n{_drive_advice(config)}"
        report.checks = []
    finally:
        torch.set_num_threads(threads)
    report.seconds = time.perf_counter() - start
    return report


def _fail_all(report: VerifyReport, requested: tuple, reason: str) -> None:
    first, *rest = requested
    report.checks = [CheckResult(first, False, reason)] + [CheckResult(name, False, f"not run: {reason}") for name in rest]


def _run(path, config, report, original_text, original_label, original_overrides) -> None:
    requested = _requested(config)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")

    # ---- the original: a file, text, or HEAD
    overrides = dict(original_overrides or {})
    if original_text is not None:
        original_path, label = path, original_label or f"{path} (as before the rewrite)"
    elif config.original:
        original_path = Path(config.original)
        if not original_path.is_file():
            raise ConfigError(f"--original {config.original}: no such file")
        label = str(original_path)
    else:
        original_text, label = git_original(path)
        original_path = path
        overrides.update(git_package_overrides(path))
    report.original = label

    # ---- load both, side by side
    try:
        original = load_module(original_path, "original", text=original_text, overrides=overrides, label=None if original_text is None else label)
    except LoadError as error:
        raise ConfigError(f"the original cannot be imported: {error}") from None
    try:
        rewritten = load_module(path, "rewritten")
    except LoadError as error:
        _fail_all(report, requested, f"the rewrite cannot be imported: {error}")
        return
    files = tuple({str(path.resolve()), str(original_path.resolve()), original.label, str(package_location(path)[0])})

    def user_function(spec: str, config_dir: Optional[str]):
        """A driver or factory: looked for next to the config naming it, in the package root, here."""
        places = (config_dir, str(package_location(path)[0]), str(Path(config.base_dir or ".").resolve()), os.getcwd())
        return load_driver(spec, tuple(p for p in places if p))

    driver = user_function(config.driver, config.driver_dir) if config.driver else None
    factory = user_function(config.factory, config.factory_dir) if config.factory else None
    original_cls = find_class(original.module, config.class_name, original.label, need_iqn=driver is None)
    report.class_name = getattr(original_cls, "__name__", config.class_name)
    builtin = builtin_shape(original_cls) if driver is None else None
    if driver is None and builtin is None and not is_iqn_style(original_cls):
        missing = [m for m in ("take_action", "add_memory_ppo", "train_step", "start_epoch_action") if not callable(getattr(original_cls, m, None))]
        raise ConfigError(
            f"{report.class_name} does not have the IQN-style interface (missing {', '.join(missing)}), "
            "nor a forward(x, h) or an act(obs, h, masks) that takes the state; "
            "write a driver and pass --driver module:function (see docs/verify.md)"
        )
    report.interface = f"driver {config.driver}" if driver else builtin or "iqn"
    try:
        rewritten_cls = find_class(rewritten.module, report.class_name, rewritten.label, need_iqn=False)
    except ConfigError as error:
        _fail_all(report, requested, str(error))
        return

    # ---- build (the original first: if it cannot be built, the configuration is wrong)
    seed = config.seed
    kwargs = dict(config.kwargs)
    o_make, r_make = _maker(original_cls, factory), _maker(rewritten_cls, factory)
    o_model = build(o_make, kwargs, seed, original.label)
    try:
        r_model = build(r_make, kwargs, seed, rewritten.label)
    except ConfigError as error:
        _fail_all(report, requested, f"the rewrite cannot be built with arguments that build the original: {error}")
        return
    obs_shape = config.obs_shape or infer_obs_shape(kwargs, o_model)
    if obs_shape is None:
        raise ConfigError("cannot tell the observation shape: pass --obs-shape D1,D2,... (or obs-shape in the config)")
    if not recurrent_modules(o_model):
        raise ConfigError(f"{report.class_name} (original) has no recurrent module (nn.GRU/LSTM/RNN or a cell) once built")

    def interface(model) -> Any:
        return make_interface(model, driver)

    o_iface = interface(o_model)
    batch = o_iface.batch if isinstance(o_iface, Interface) else None
    env = Env(obs_shape, config.steps, config.epochs, config.episode_length, seed, batch=batch, train_every=config.train_every)
    action_space = config.action_space

    results: dict = {}
    if any(name in requested for name in ("interface", "shapes", "replay")):
        started = time.perf_counter()
        seed_everything(seed)
        o_trace = drive(o_model, o_iface, env, "original", files, probe=True, freeze=True, action_space=action_space)
        if not o_trace.ok:
            raise OriginalFailed(f"the original cannot be driven: {o_trace.error}")
        if not any(o_trace.trained):
            raise ConfigError(f"the original never trained: {_drive_text(config)}; {TRAIN_MORE}")
        nan_trainings = [k for k, loss in enumerate(o_trace.losses) if not loss_is_finite(loss)]
        if nan_trainings:
            report.warnings.append(
                f"the original's loss is not finite at {len(nan_trainings)} of {len(o_trace.losses)} train calls "
                f"(first: train #{nan_trainings[0]}); the drive may not be its experiment's ({_drive_text(config)})"
            )
        seed_everything(seed)
        try:
            r_iface = interface(r_model)
        except DriverError as error:
            r_trace = Trace("rewrite", error=str(error))
        else:
            r_trace = drive(r_model, r_iface, env, "rewrite", files, probe=True, freeze=True, action_space=action_space)
        shared = (time.perf_counter() - started) / 3
        if "interface" in requested:
            results["interface"] = C.timed(C.check_interface, original_cls, rewritten_cls, o_trace, r_trace)
        if "shapes" in requested:
            results["shapes"] = C.timed(C.check_shapes, r_model, o_trace, r_trace)
        if "replay" in requested:
            results["replay"] = C.timed(C.check_replay, o_trace, r_trace)
        for name in ("interface", "shapes", "replay"):
            if name in results:
                results[name].seconds += shared
    if "equivalence" in requested:
        results["equivalence"] = C.timed(
            check_equivalence, o_make, r_make, kwargs, seed, interface, env, files, original.label, rewritten.label,
            action_space,
        )
    if "memory" in requested:
        from gru2lstm.verify.memory import check_memory

        learn_kwargs = {**kwargs, **config.learn_kwargs}

        if isinstance(o_iface, LoopDriver) or builtin:
            results["memory"] = CheckResult(
                "memory", False,
                "the memory check needs the IQN-style interface or a driver returning an Interface (not a loop driver, nor a model the harness drives itself)",
            )
        else:
            results["memory"] = C.timed(
                check_memory,
                lambda run_seed: build(o_make, learn_kwargs, run_seed, original.label),
                lambda run_seed: build(r_make, learn_kwargs, run_seed, rewritten.label),
                interface, obs_shape, config.learn_delay, config.learn_budget, seed, action_space,
            )
    report.checks = [results[name] for name in requested if name in results]


# --------------------------------------------------------------------------- equivalence
def _maker(cls: Any, factory: Optional[Any]) -> Any:
    """What builds a model from the kwargs: the class itself, or the factory hook given the class."""
    if factory is None:
        return cls

    def make(**kwargs):
        return factory(cls, **kwargs)

    make.__name__ = f"{factory.__name__}({getattr(cls, '__name__', cls)}, ...)"
    return make


def _strip(names: list, prefixes: list) -> list:
    return [n for n in names if not any(n == p or n.startswith(p + ".") for p in prefixes)]


def check_equivalence(o_make, r_make, kwargs, seed, interface, env, files, o_label, r_label, action_space=None) -> CheckResult:
    o_model = build(o_make, kwargs, seed, o_label)
    try:
        r_model = build(r_make, kwargs, seed, r_label)
    except ConfigError as error:
        return CheckResult("equivalence", False, str(error))
    o_rec, r_rec = recurrent_modules(o_model), recurrent_modules(r_model)
    if len(o_rec) != len(r_rec):
        return CheckResult("equivalence", False, f"{len(r_rec)} recurrent modules in the rewrite, {len(o_rec)} in the original")
    o_prefixes, r_prefixes = [n for n, _ in o_rec], [n for n, _ in r_rec]
    o_state, r_state = state_tensors(o_model), state_tensors(r_model)
    o_names, r_names = _strip(list(o_state), o_prefixes), _strip(list(r_state), r_prefixes)
    only_o, only_r = sorted(set(o_names) - set(r_names)), sorted(set(r_names) - set(o_names))
    if only_o or only_r:
        parts = []
        if only_o:
            parts.append(f"only in the original: {', '.join(only_o[:4])}" + (" ..." if len(only_o) > 4 else ""))
        if only_r:
            parts.append(f"only in the rewrite: {', '.join(only_r[:4])}" + (" ..." if len(only_r) > 4 else ""))
        return CheckResult("equivalence", False, "non-recurrent parameter names differ: " + "; ".join(parts))
    mismatched = [n for n in o_names if o_state[n].shape != r_state[n].shape]
    if mismatched:
        n = mismatched[0]
        return CheckResult("equivalence", False, f"{n} is {tuple(r_state[n].shape)} in the rewrite, {tuple(o_state[n].shape)} in the original")
    renamed = [f"{a} -> {b}" for a, b in zip(o_prefixes, r_prefixes) if a != b]
    with torch.no_grad():
        for name in o_names:
            r_state[name].copy_(o_state[name])
    try:
        for _, module in o_rec + r_rec:
            make_twin(module)
    except TwinError as error:
        return CheckResult("equivalence", False, f"cannot build the twin cores: {error}")
    param_names = _strip([n for n, _ in named_parameters(o_model)], o_prefixes)
    seed_everything(seed)
    o_trace = drive(o_model, interface(o_model), env, "original", files, record_params=True, param_names=param_names, action_space=action_space)
    seed_everything(seed)
    r_trace = drive(r_model, interface(r_model), env, "rewrite", files, record_params=True, param_names=param_names, action_space=action_space)
    if not o_trace.ok:
        raise OriginalFailed(f"equivalence: the original with twin recurrent cores cannot be driven: {o_trace.error}")
    trainings = len(o_trace.losses) if o_trace.loop else sum(o_trace.trained)
    if trainings < 2:
        raise ConfigError(f"equivalence needs two trainings of the original, it trained {trainings} time(s): {TRAIN_MORE}")
    for k, params in enumerate(o_trace.params):
        broken = next((name for name, value in params.items() if not bool(torch.isfinite(value).all())), None)
        if broken is not None:
            raise OriginalFailed(f"equivalence: after train #{k} the original's {broken} is not finite, so updates cannot be compared")
    if not r_trace.ok:
        return CheckResult("equivalence", False, f"the rewrite with twin recurrent cores fails (the original does not): {r_trace.error}")
    problem, details = C.compare_traces(o_trace, r_trace)
    if renamed:
        details.insert(0, "recurrent module paired: " + ", ".join(renamed))
    details.insert(0, f"{len(o_names)} non-recurrent tensors copied from the original")
    if problem:
        return CheckResult("equivalence", False, problem, details)
    return CheckResult(
        "equivalence", True,
        f"identical actions ({len(o_trace.actions)}), losses and updates of all {len(param_names)} non-recurrent parameters over {trainings} trainings",
        details,
    )


def verify_files(
    rewritten_path: str | os.PathLike,
    original_source_text: Optional[str] = None,
    config: Optional[VerifyConfig] = None,
    original_overrides: Optional[dict] = None,
) -> VerifyReport:
    """Verify a rewritten file against its original source text (None: --original or git HEAD).

    `config` None: read from pyproject.toml above the file. Never raises for a failed check or a
    configuration problem: see `report.exit_code` (0 pass, 1 a check failed, 2 usage) and
    `report.summary()`.
    """
    from gru2lstm.verify.config import load_config

    if config is None:
        try:
            config = load_config(rewritten_path)
        except ConfigError as error:
            return VerifyReport(rewritten=str(rewritten_path), original="", usage_error=str(error))
    return run(rewritten_path, config, original_text=original_source_text, original_overrides=original_overrides)
