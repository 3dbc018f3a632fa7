"""The opt-in `memory` check: a cue-recall task the harness builds around any observation shape.

An episode is: a cue (the first half of the observation all +1 or all -1), `delay` blank
observations, then a query (the second half all +1). Only the answer to the query is rewarded:
1 when the half of the action space the action lies in says which cue was shown, else 0. The answer depends on an observation
`delay + 1` steps earlier, so only a model that carries it in its recurrent state can beat
chance (0.5). The original and the rewrite are trained on it under the same seeds and budget;
the rewrite must learn it as well as the original within noise, and answer at chance when its
state is reset between the cue and the query where the original does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gru2lstm.verify.config import ConfigError
from gru2lstm.verify.harness import action_values
from gru2lstm.verify.interface import Interface
from gru2lstm.verify.results import CheckResult

LEARNED = 0.75  # the recall of a run that learned the task (chance 0.5)
SEEDS = 3  # runs of each model, one seed each
MIN_MARGIN = 0.05  # the smallest allowed shortfall of the rewrite's mean recall
CHANCE_BAND = 0.15  # |accuracy - 0.5| allowed after a mid-episode reset
EVAL_EPISODES = 200
EARLY_STOP = 0.9  # running accuracy over the last WINDOW episodes that ends training early
WINDOW = 100
CUE = 3.0  # magnitude of the cue features


def _answer(action: Any, action_space: int | None) -> np.ndarray:
    """The binary answer an action gives: which half of the action space it lies in (its parity
    when the number of actions is unknown)."""
    value = action_values(action)
    values = value if isinstance(value, tuple) else (value,)
    if action_space and action_space >= 2:
        return np.asarray([int(int(v) >= action_space // 2) for v in values])
    return np.asarray([int(v) % 2 for v in values])


class CueTask:
    def __init__(self, obs_shape: tuple, delay: int, batch: int | None, seed: int, action_space: int | None = None) -> None:
        self.action_space = action_space
        self.obs_shape = tuple(obs_shape)
        self.size = int(np.prod(self.obs_shape))
        self.half = max(1, self.size // 2)
        self.delay = delay
        self.batch = batch
        self.rng = np.random.default_rng(seed + 17)

    def _obs(self, rows: np.ndarray) -> np.ndarray:
        rows = rows.astype(np.float32)
        if self.batch:
            return rows.reshape(self.batch, *self.obs_shape)
        return rows.reshape(self.obs_shape)

    def cue(self, bits: np.ndarray) -> np.ndarray:
        n = self.batch or 1
        rows = np.zeros((n, self.size), dtype=np.float32)
        rows[:, : self.half] = np.where(bits, CUE, -CUE)[:, None]
        return self._obs(rows)

    def blank(self) -> np.ndarray:
        return self._obs(np.zeros((self.batch or 1, self.size), dtype=np.float32))

    def query(self) -> np.ndarray:
        rows = np.zeros((self.batch or 1, self.size), dtype=np.float32)
        rows[:, self.half :] = 1.0
        if self.half == self.size:  # one feature: the query is a distinct value
            rows[:, :] = 0.5
        return self._obs(rows)

    def episode(self, iface: Interface, bits: np.ndarray, reset_after_cue: bool = False) -> np.ndarray:
        """Run one episode; the per-environment correctness of the answer."""
        n = self.batch or 1

        def outcome(value, done):
            if iface.observe is None:
                return
            if self.batch:
                iface.observe(np.full(n, value, dtype=np.float32) if np.isscalar(value) else value, np.full(n, done))
            else:
                iface.observe(float(np.asarray(value).reshape(-1)[0]), done)

        if iface.reset is not None:
            iface.reset()
        iface.act(self.cue(bits))
        outcome(0.0, False)
        if reset_after_cue and iface.reset is not None:
            iface.reset()
        for _ in range(self.delay):
            iface.act(self.blank())
            outcome(0.0, False)
        answer = _answer(iface.act(self.query()), self.action_space)[:n]
        correct = (answer == bits.astype(int)).astype(np.float32)
        outcome(correct if self.batch else float(correct[0]), True)
        return correct


@dataclass
class Recall:
    """One model trained on the task under one seed, then evaluated."""

    recall: float  # answers right after training (chance 0.5)
    after_reset: float  # the same with the state reset between the cue and the query
    episodes: int
    seconds: float


def train_and_evaluate(build: Callable[[int], Any], interface: Callable[[Any], Interface], obs_shape: tuple, delay: int,
                       budget: float, seed: int, action_space: int | None) -> Recall:
    """Train on the cue task for `budget` seconds (or until it answers right EARLY_STOP of the
    time), then evaluate recall with and without a reset after the cue."""
    start = time.perf_counter()
    model = build(seed)  # seeds everything
    iface = interface(model)
    if action_space is None:
        action_space = iface.action_space
    if action_space is None:
        value = getattr(model, "action_space", None)
        action_space = value if isinstance(value, int) and not isinstance(value, bool) else None
    task = CueTask(obs_shape, delay, iface.batch, seed, action_space)
    n = iface.batch or 1
    recent: list = []
    episodes = 0
    while time.perf_counter() - start < budget:
        bits = task.rng.integers(0, 2, size=n).astype(bool)
        recent.extend(task.episode(iface, bits).tolist())
        if iface.train is not None:
            iface.train()
        episodes += 1
        recent = recent[-WINDOW * n :]
        if len(recent) >= WINDOW * n and np.mean(recent) >= EARLY_STOP:
            break
    seconds = time.perf_counter() - start

    def evaluate(reset_after_cue: bool) -> float:
        scores = []
        for k in range(max(1, EVAL_EPISODES // n)):
            bits = np.asarray([(k + j) % 2 == 0 for j in range(n)])  # balanced cues
            scores.extend(task.episode(iface, bits, reset_after_cue).tolist())
        return float(np.mean(scores))

    return Recall(evaluate(False), evaluate(True), episodes, seconds)


def check_memory(build_original: Callable[[int], Any], build_rewrite: Callable[[int], Any], interface: Callable[[Any], Interface],
                 obs_shape: tuple, delay: int, budget: float, seed: int, action_space: int | None = None) -> CheckResult:
    """The original and the rewrite trained on the same task under SEEDS seeds, every run with the
    same share of the budget (each stops early once it answers right EARLY_STOP of the time).

    The rewrite fails when it learns on more than one seed fewer than the original (learned: recall
    >= LEARNED), when its mean recall is below the original's by more than the noise margin
    max(MIN_MARGIN, 2 standard errors of the difference of the means over the seeds), or when a
    reset after the cue leaves its recall away from chance where the original's falls to chance."""
    share = budget / (2 * SEEDS)
    originals = [train_and_evaluate(build_original, interface, obs_shape, delay, share, seed + k, action_space) for k in range(SEEDS)]
    o_learned = sum(r.recall >= LEARNED for r in originals)
    if o_learned == 0:
        raise ConfigError(
            f"memory: the original does not learn the cue-recall task on any of {SEEDS} seeds (recall "
            + ", ".join(f"{r.recall:.2f} in {r.episodes} episodes" for r in originals)
            + f"; learned means {LEARNED}) within {share:.0f}s per run, so the rewrite is not judged; raise learn-budget "
            "or give learn-kwargs (e.g. a larger learning rate)"
        )
    rewrites = [train_and_evaluate(build_rewrite, interface, obs_shape, delay, share, seed + k, action_space) for k in range(SEEDS)]
    r_learned = sum(r.recall >= LEARNED for r in rewrites)
    o_recall = np.array([r.recall for r in originals])
    r_recall = np.array([r.recall for r in rewrites])
    margin = max(MIN_MARGIN, 2 * float(np.sqrt((o_recall.var(ddof=1) + r_recall.var(ddof=1)) / SEEDS)))
    o_after = float(np.mean([r.after_reset for r in originals]))
    r_after = float(np.mean([r.after_reset for r in rewrites]))
    details = [
        f"seed {seed + k}: original {o.recall:.2f} ({o.episodes} episodes, {o.seconds:.1f}s), "
        f"rewrite {r.recall:.2f} ({r.episodes} episodes, {r.seconds:.1f}s); reset after the cue {o.after_reset:.2f} / {r.after_reset:.2f}"
        for k, (o, r) in enumerate(zip(originals, rewrites))
    ]
    metrics = {"recall": float(r_recall.mean()), "original_recall": float(o_recall.mean()), "margin": margin,
               "learned": r_learned, "original_learned": o_learned,
               "recall_after_reset": r_after, "original_recall_after_reset": o_after, "seeds": SEEDS}
    compared = (f"learned on {r_learned} of {SEEDS} seeds (the original on {o_learned}); mean recall {r_recall.mean():.2f}, "
                f"the original's {o_recall.mean():.2f} (noise margin {margin:.2f})")
    if r_learned < o_learned - 1 or r_recall.mean() < o_recall.mean() - margin:
        return CheckResult("memory", False, f"learns worse than the original: {compared}", details, metrics=metrics)
    if abs(r_after - 0.5) > CHANCE_BAND and abs(o_after - 0.5) <= CHANCE_BAND:
        return CheckResult("memory", False,
                           f"recall is {r_after:.2f} even with the state reset after the cue (the original's {o_after:.2f}): "
                           "the answer does not come from the recurrent state", details, metrics=metrics)
    return CheckResult("memory", True, f"{compared}; {r_after:.2f} when the state is reset after the cue", details, metrics=metrics)
