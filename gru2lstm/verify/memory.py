"""The opt-in `memory` check: a cue-recall task the harness builds around any observation shape.

An episode is: a cue (the first half of the observation all +1 or all -1), `delay` blank
observations, then a query (the second half all +1). Only the answer to the query is rewarded:
1 when the half of the action space the action lies in says which cue was shown, else 0. The answer depends on an observation
`delay + 1` steps earlier, so only a model that carries it in its recurrent state can beat
chance (0.5). After training within the budget, the model must answer clearly above chance,
and answer at chance when its state is reset between the cue and the query.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from gru2lstm.verify.harness import action_values
from gru2lstm.verify.interface import Interface
from gru2lstm.verify.results import CheckResult

LEARNED = 0.75  # accuracy that counts as "clearly above chance"
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


def check_memory(build: Callable[[], Any], interface: Callable[[Any], Interface], obs_shape: tuple,
                 delay: int, budget: float, seed: int, action_space: int | None = None) -> CheckResult:
    start = time.perf_counter()
    model = build()
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
    trained_for = time.perf_counter() - start

    def evaluate(reset_after_cue: bool) -> float:
        scores = []
        for k in range(max(1, EVAL_EPISODES // n)):
            bits = np.asarray([(k + j) % 2 == 0 for j in range(n)])  # balanced cues
            scores.extend(task.episode(iface, bits, reset_after_cue).tolist())
        return float(np.mean(scores))

    accuracy = evaluate(False)
    after_reset = evaluate(True)
    details = [
        f"{episodes} training episodes in {trained_for:.1f}s (budget {budget:.0f}s); cue {delay + 1} steps before the query",
        f"recall {accuracy:.2f}; with the state reset after the cue {after_reset:.2f}; chance 0.50",
    ]
    metrics = {"recall": accuracy, "recall_after_reset": after_reset, "episodes": episodes, "seconds": trained_for}
    if accuracy < LEARNED:
        return CheckResult("memory", False, f"recall {accuracy:.2f} is not clearly above chance (needs {LEARNED}) after {episodes} episodes", details, metrics=metrics)
    if abs(after_reset - 0.5) > CHANCE_BAND:
        return CheckResult("memory", False, f"recall is {after_reset:.2f} even with the state reset after the cue: the answer does not come from the recurrent state", details, metrics=metrics)
    return CheckResult("memory", True, f"recall {accuracy:.2f} (chance 0.50); {after_reset:.2f} when the state is reset after the cue", details, metrics=metrics)
