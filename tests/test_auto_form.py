"""`--state auto` falls back to the other form: when the form it chose from where the state is
stored refuses the group, the other form is planned and taken if it is clean; when both refuse,
the first choice's findings are reported as they were. `--state tuple`/`packed` never fall back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import gru2lstm.migrate as migrate
from gru2lstm.cli import main
from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

# A project that stores the state in a preallocated tensor (auto chooses packed) and passes it
# through a helper that transposes: packed cannot know the rank there (G2L100), tuple can.
MODEL = '''"""A recurrent policy, and the helper that puts the environments first."""
import torch
from torch import nn


def env_major(t):
    return t.transpose(0, 1)


class Policy(nn.Module):
    def __init__(self, hidden_size=8):
        super().__init__()
        self.gru = nn.GRU(4, hidden_size)
        self.pi = nn.Linear(hidden_size, 2)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return self.pi(out), h
'''

RUN = '''"""Acts for a few steps, keeping each step's state in a preallocated tensor."""
import torch

from model import Policy, env_major


def rollout(steps, envs):
    policy = Policy()
    states = torch.zeros(steps + 1, envs, 1, 8)
    for step in range(steps):
        logits, h = policy(torch.randn(1, envs, 4), env_major(states[step]))
        states[step + 1] = env_major(h)
    return states


states = rollout(4, 3)
'''

# Written from docs/rules.md (tuple form): the module and the call, the allocation paired, the
# helper called on each half, each half written into its own rows.
MODEL_TUPLE = MODEL.replace("self.gru = nn.GRU(", "self.lstm = nn.LSTM(").replace("self.gru(x, h)", "self.lstm(x, h)")

RUN_TUPLE = '''"""Acts for a few steps, keeping each step's state in a preallocated tensor."""
import torch

from model import Policy, env_major


def rollout(steps, envs):
    policy = Policy()
    states = (
        torch.zeros(steps + 1, envs, 1, 8),
        torch.zeros(steps + 1, envs, 1, 8),
    )
    for step in range(steps):
        logits, h = policy(torch.randn(1, envs, 4), (env_major(states[0][step]), env_major(states[1][step])))
        states[0][step + 1] = env_major(h[0])
        states[1][step + 1] = env_major(h[1])
    return states


states = rollout(4, 3)
'''

# The state handed to a function of a file that does not exist: refused in either form (G2L101).
SENT = RUN.replace("from model import", "from tracker import record\nfrom model import").replace(
    "        states[step + 1] = env_major(h)\n", "        states[step + 1] = env_major(h)\n        record(h)\n"
)

# Unpacked after a starred target: tuple cannot tell the position (G2L101), packed holds one tensor.
STARRED = '''
import torch
from torch import nn


class V(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)
        self.v = nn.Linear(8, 1)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return self.v(out), out, h


net = V()
h = torch.zeros(1, 3, 8)
for t in range(4):
    *_, h = net(torch.randn(1, 3, 4), h)
'''

# Stored in a list: auto chooses tuple, which is clean.
LISTED = '''
import torch
from torch import nn

core = nn.GRU(4, 8)
h = torch.zeros(1, 3, 8)
kept = []
for t in range(4):
    out, h = core(torch.randn(1, 3, 4), h)
    kept.append(h)
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "run.py").write_text(RUN)
    return tmp_path


@pytest.fixture
def plans(monkeypatch):
    """The forms planned, in order: the Planner counted."""
    planned = []

    class CountedPlanner(migrate.Planner):
        def __init__(self, wrappers, flow, solution, options):
            planned.append(options.state)
            super().__init__(wrappers, flow, solution, options)

    monkeypatch.setattr(migrate, "Planner", CountedPlanner)
    return planned


def records(capsys) -> dict:
    return {r["path"].split("/")[-1]: r for r in json.loads(capsys.readouterr().out)["files"]}


def test_packed_refuses_and_auto_takes_the_tuple_form_byte_for_byte(project, capsys):
    assert main(["rewrite", str(project)]) == 0
    assert (project / "model.py").read_text() == MODEL_TUPLE
    assert (project / "run.py").read_text() == RUN_TUPLE
    said = " ".join(capsys.readouterr().err.split())  # the table's title may wrap
    assert "run.py: rewritten, (h, c) held as tuple (auto: packed refused (G2L100 at " in said
    assert "run.py:11), tuple taken)" in said


def test_the_project_taken_in_tuple_form_runs_with_a_non_zero_c(project):
    assert main(["rewrite", "-q", str(project)]) == 0
    probe = "import run; h, c = run.states; assert h.shape == c.shape == (5, 3, 1, 8); assert c[1:].abs().sum() > 0"
    subprocess.run([sys.executable, "-c", probe], cwd=project, check=True)


def test_the_json_record_names_the_form_refused_and_its_first_finding(project, capsys):
    assert main(["rewrite", "--check", "--format", "json", str(project)]) == 1
    for record in records(capsys).values():
        assert record["state_form"] == "tuple"
        assert record["state_form_fallback"] == {"refused": "packed", "code": "G2L100", "path": str(project / "run.py"), "line": 11}


def test_the_fallback_plan_is_the_plan_of_the_form_asked_for(project, capsys):
    """Nothing of the refused plan reaches the one taken: the same as `--state tuple` gives."""
    assert main(["rewrite", "--check", "--format", "json", str(project)]) == 1
    auto = records(capsys)
    assert main(["rewrite", "--check", "--format", "json", "--state", "tuple", str(project)]) == 1
    asked = records(capsys)
    for record in auto.values():
        record["state_form_fallback"] = None
    assert auto == asked


def test_tuple_refuses_and_auto_takes_the_packed_form(plans):
    migration = migrate_source(STARRED)
    assert plans == ["tuple", "packed"]
    assert [f.code for f in migration.findings if f.blocks_write] == []
    assert migration.state_form == "packed" and (migration.form_fallback.refused, migration.form_fallback.line) == ("tuple", 20)
    assert migration.source == migrate_source(STARRED, Options(state="packed")).source


def test_when_both_forms_refuse_auto_reports_the_first_choice_as_it_was(project, capsys, plans):
    (project / "run.py").write_text(SENT)
    assert main(["rewrite", "--check", "--format", "json", str(project)]) == 1
    auto = records(capsys)
    assert plans == ["packed", "tuple"]
    assert main(["rewrite", "--check", "--format", "json", "--state", "tuple", str(project)]) == 1
    tuple_first = next(
        (record["path"], finding) for record in records(capsys).values() for finding in record["findings"]
        if finding["severity"] == "error" and finding["code"] != "G2L105"  # said after the plans, of the other files
    )
    assert main(["rewrite", "--check", "--format", "json", "--state", "packed", str(project)]) == 1
    packed = records(capsys)
    for record in auto.values():  # why tuple was not taken, since packed's findings may suggest it
        other = record.pop("state_form_other")
        assert other is None or other == {"refused": "tuple", "code": tuple_first[1]["code"], "path": tuple_first[0], "line": tuple_first[1]["line"]}
        record["state_form_other"] = None
    assert auto["run.py"]["state_form_other"] is None and auto == packed
    codes = {f["code"] for f in auto["run.py"]["findings"]}
    assert "G2L100" in codes and "G2L101" in codes
    assert all(record["state_form_fallback"] is None for record in auto.values())


def test_when_both_forms_refuse_the_title_says_why_the_other_was_not_taken(project, capsys):
    (project / "run.py").write_text(SENT)
    assert main(["rewrite", "--check", str(project)]) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "run.py: needs attention, nothing written, (h, c) held as packed (auto: tuple refused too (G2L" in said


def test_a_clean_first_choice_is_the_only_plan(plans):
    migration = migrate_source(LISTED)
    assert plans == ["tuple"]
    assert migration.state_form == "tuple" and migration.form_fallback is None
    assert "torch.zeros(1, 3, 8)" in migration.source and "nn.LSTM(4, 8)" in migration.source


def test_tuple_asked_for_never_falls_back(plans):
    migration = migrate_source(STARRED, Options(state="tuple"))
    assert plans == ["tuple"]
    assert migration.state_form == "tuple" and migration.form_fallback is None
    assert migration.blocked and not migration.changed


def test_packed_asked_for_never_falls_back(project, capsys, plans):
    assert main(["rewrite", "--check", "--format", "json", "--state", "packed", str(project)]) == 1
    assert plans == ["packed"]
    got = records(capsys)
    assert got["run.py"]["status"] == "needs_attention"
    assert all(record["state_form"] == "packed" and record["state_form_fallback"] is None for record in got.values())


def test_no_fallback_to_a_form_that_changes_a_contract_no_analysed_caller_follows(project, capsys, plans):
    """Without its caller, tuple would change `rollout()`'s return for callers nobody saw (G2L202):
    auto keeps packed's refusal."""
    (project / "run.py").write_text(RUN.replace("\n\nstates = rollout(4, 3)\n", "\n"))
    assert main(["rewrite", "--check", "--format", "json", str(project)]) == 1
    assert plans == ["packed", "tuple"]
    got = records(capsys)
    assert got["run.py"]["status"] == "needs_attention" and got["run.py"]["state_form"] == "packed"
    assert all(record["state_form_fallback"] is None for record in got.values())
    assert got["run.py"]["state_form_other"]["refused"] == "tuple" and got["run.py"]["state_form_other"]["code"] == "G2L202"
