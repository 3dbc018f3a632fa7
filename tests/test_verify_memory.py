"""The opt-in `memory` check (--learn): the original and the rewrite learn the cue-recall task under
the same seeds and budget; a rewrite that carries the cue in (h, c) learns it as well, one whose
state does not survive between steps stays at chance, and an original that cannot learn it within
the budget is a usage error.

All use tests/mutations/tiny_agent, which learns the task in about a second; the budgets are small.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from gru2lstm.verify import VerifyConfig, verify_files

TINY = Path(__file__).resolve().parent / "mutations" / "tiny_agent"
CONFIG = VerifyConfig(
    class_name="TinyAgent",
    kwargs={"obs_size": 4, "action_space": 2, "hidden_size": 16, "rollout_length": 16},
    obs_shape=(4,),
    checks=("memory",),
)


def test_a_model_that_keeps_its_cell_state_learns_cue_recall_and_a_reset_takes_it_to_chance(tmp_path):
    path = tmp_path / "agent.py"
    path.write_text((TINY / "expected.py").read_text(encoding="utf-8"), encoding="utf-8")
    report = verify_files(path, (TINY / "input.py").read_text(encoding="utf-8"), CONFIG.merged({"learn_budget": 40.0}))
    memory = report.check("memory")
    assert memory is not None and memory.passed, memory.reason if memory else report.usage_error
    assert memory.metrics["seeds"] == 3 and len(memory.details) == 3  # one line per seed: both models
    assert memory.metrics["learned"] >= memory.metrics["original_learned"] - 1
    assert memory.metrics["recall"] >= memory.metrics["original_recall"] - memory.metrics["margin"]
    assert abs(memory.metrics["recall_after_reset"] - 0.5) <= 0.15


def test_a_model_whose_state_is_lost_every_step_stays_at_chance(tmp_path):
    forgetful = (TINY / "expected.py").read_text(encoding="utf-8").replace(
        "        self.hidden = new_hidden\n", "        self.hidden = None\n"
    )
    path = tmp_path / "agent.py"
    path.write_text(forgetful, encoding="utf-8")
    report = verify_files(path, (TINY / "input.py").read_text(encoding="utf-8"), CONFIG.merged({"learn_budget": 20.0}))
    memory = report.check("memory")
    assert memory is not None and not memory.passed, report.usage_error
    assert memory.reason.startswith("learns worse than the original: learned on 0 of 3 seeds")
    assert memory.metrics["recall"] < 0.75 <= memory.metrics["original_recall"]
    assert memory.metrics["original_learned"] >= 2
    assert report.exit_code == 1


def test_an_original_that_does_not_learn_within_the_budget_is_a_usage_error(tmp_path):
    path = tmp_path / "agent.py"
    path.write_text((TINY / "expected.py").read_text(encoding="utf-8"), encoding="utf-8")
    report = verify_files(path, (TINY / "input.py").read_text(encoding="utf-8"), CONFIG.merged({"learn_budget": 0.05}))
    assert report.exit_code == 2
    assert "memory: the original does not learn the cue-recall task on any of 3 seeds" in report.usage_error
    assert "raise learn-budget" in report.usage_error
