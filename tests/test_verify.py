"""gru2lstm verify: configuration, loading side by side, the CLI's exit codes and output, drivers.

The model under test is tests/mutations/tiny_agent (a GRU input.py and its LSTM expected.py):
small enough that a whole verification takes about a second.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

from gru2lstm.verify import VerifyConfig, load_config, run, verify_files
from gru2lstm.verify.cli import main as verify_main
from gru2lstm.verify.config import ConfigError
from gru2lstm.verify.loading import load_module

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "mutations" / "tiny_agent"
TINY_KWARGS = {"obs_size": 4, "action_space": 2, "hidden_size": 16, "rollout_length": 16}
EPOCH_AGENT = ROOT / "tests" / "mutations" / "epoch_agent"  # train_step() trains on whatever the rollout holds
DEFAULT_CHECKS = ["interface", "shapes", "replay", "equivalence"]


def tiny_text(side: str) -> str:
    return (TINY / f"{side}.py").read_text(encoding="utf-8")


def tiny_config(**values) -> VerifyConfig:
    values.setdefault("original", str(TINY / "input.py"))
    return load_config(TINY / "expected.py", values, TINY / "verify.toml")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- torch stays lazy
def test_importing_the_cli_and_the_verify_package_does_not_import_torch():
    code = (
        "import sys, gru2lstm.cli, gru2lstm.verify, gru2lstm.verify.cli, gru2lstm.verify.config; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# ---------------------------------------------------------------------------- a passing migration
def test_the_tiny_migration_passes_every_default_check():
    report = run(TINY / "expected.py", tiny_config())
    assert report.usage_error is None
    assert [c.name for c in report.checks] == DEFAULT_CHECKS
    assert all(c.passed for c in report.checks), [(c.name, c.reason) for c in report.checks]
    assert report.exit_code == 0
    assert report.interface == "iqn" and report.class_name == "TinyAgent"
    shapes = report.check("shapes")
    assert any("live state: pair (h, c) at self.hidden" in d for d in shapes.details)
    assert any("stored state detached" in d for d in shapes.details)
    assert "both halves exact" in report.check("replay").reason
    assert "identical actions (72)" in report.check("equivalence").reason


def test_verify_files_takes_the_original_as_text_and_reports_a_failure_with_its_reason(tmp_path):
    broken = tiny_text("expected").replace(
        "features, _ = self._core(torch.cat(obs), (h_states, c_states))",
        "features, _ = self._core(torch.cat(obs), (h_states, torch.zeros_like(c_states)))",
    )
    assert broken != tiny_text("expected")
    path = write(tmp_path / "agent.py", broken)
    config = VerifyConfig(class_name="TinyAgent", kwargs=TINY_KWARGS, obs_shape=(4,))
    report = verify_files(path, tiny_text("input"), config)
    assert report.exit_code == 1
    assert report.failed_checks == ["replay"]
    assert "zero in" in report.check("replay").reason
    # where: the training call of the module, in the user's file, and the function that made it
    assert f"(training call of lstm at {path}:" in report.check("replay").reason
    assert "in _core, called from train_step at line" in report.check("replay").reason
    assert report.summary().startswith("verify: replay FAILED: ")
    good = write(tmp_path / "good.py", tiny_text("expected"))
    assert verify_files(good, tiny_text("input"), config).exit_code == 0


def test_verify_files_reads_the_configuration_from_pyproject_when_none_is_given(tmp_path):
    write(tmp_path / "pyproject.toml", """
        [tool.gru2lstm.verify]
        class = "TinyAgent"
        obs-shape = [4]
        kwargs = { obs_size = 4, action_space = 2, hidden_size = 16, rollout_length = 16 }
        checks = ["interface", "replay"]
    """)
    path = write(tmp_path / "src" / "agent.py", tiny_text("expected"))
    report = verify_files(path, tiny_text("input"))
    assert report.exit_code == 0, report.summary()
    assert [c.name for c in report.checks] == ["interface", "replay"]


# ---------------------------------------------------------------------------- the drive
def epoch_agent_config(**values) -> VerifyConfig:
    values.setdefault("original", str(EPOCH_AGENT / "input.py"))
    return load_config(EPOCH_AGENT / "expected.py", values, EPOCH_AGENT / "verify.toml")


def test_train_is_called_once_at_the_end_of_each_epoch_unless_the_config_says_every_step():
    from gru2lstm.verify.harness import Env

    by_epoch = Env((4,), steps=10, epochs=3, episode_length=7, seed=0)
    assert [i for i in range(10) if by_epoch.epoch_start(i)] == [0, 4, 8]
    assert [i for i in range(10) if by_epoch.trains_after(i)] == [3, 7, 9]
    by_step = Env((4,), steps=10, epochs=3, episode_length=7, seed=0, train_every="step")
    assert [i for i in range(10) if by_step.trains_after(i)] == list(range(10))


def test_the_default_drive_accepts_a_correct_port_of_a_model_that_trains_on_whatever_its_rollout_holds():
    # Trained after every step, this model's one-sample rollouts give NaN (advantages.std() of one element).
    report = run(EPOCH_AGENT / "expected.py", epoch_agent_config())
    assert report.exit_code == 0, report.summary()
    interface = report.check("interface")
    assert "3 of 3 train calls trained" in " ".join(interface.details)
    assert "over 3 trainings" in report.check("equivalence").reason
    assert "72 samples" in report.check("replay").details[0]  # every step of every epoch is trained on
    # get_action(obs, hidden_state=None) is called without and with a state, and returns (h, c)
    assert "get_action(obs) returns at [1] (h, c) with the module's shape, as the original returns h" in interface.details
    assert "get_action(obs, state) returns at [1] (h, c) with the module's shape, as the original returns h" in interface.details


def test_a_bare_forward_x_h_module_is_driven_without_a_driver():
    core = ROOT / "tests" / "mutations" / "forward_core"
    config = load_config(core / "expected.py", {"original": str(core / "input.py")}, core / "verify.toml")
    report = run(core / "expected.py", config)
    assert report.exit_code == 0, report.summary()
    assert report.interface == "forward(x, h)"
    assert "all 72 training samples replay the (h, c) they were acted with" in report.check("replay").reason
    assert "acting: (h, c) each (1, 1, 16) at all 72 calls" in report.check("shapes").details


def test_a_grucell_agent_with_init_hidden_is_driven_from_its_initializer():
    agent = ROOT / "tests" / "mutations" / "cell_agent"
    config = load_config(agent / "expected.py", {"original": str(agent / "input.py")}, agent / "verify.toml")
    report = run(agent / "expected.py", config)
    assert report.exit_code == 0, report.summary()
    assert "init_hidden() returns (h, c) with the module's shape, as the original returns h" in report.check("interface").details
    assert "acting: (h, c) each (1, 16) at all 72 calls" in report.check("shapes").details
    # forward(inputs, hidden_state) has no default: only the initializer can start the state
    assert "all 72 training samples replay" in report.check("replay").reason


def test_an_actor_critic_with_act_obs_hxs_masks_is_driven_without_a_driver_and_finds_its_packed_state():
    policy = ROOT / "tests" / "mutations" / "ac_policy"
    config = load_config(policy / "expected.py", {"original": str(policy / "input.py")}, policy / "verify.toml")
    report = run(policy / "expected.py", config)
    assert report.exit_code == 0, report.summary()
    assert report.interface == "act(obs, h, masks)"
    # the rewrite takes its state packed, (1, 2 * 16): the LSTM still gets (h, c) of (1, 1, 16) each
    assert "acting: (h, c) each (1, 1, 16) at all 72 calls" in report.check("shapes").details
    assert "all 72 training samples replay the (h, c) they were acted with" in report.check("replay").reason


# ---------------------------------------------------------------------------- judged against the original
def test_an_original_that_cannot_be_driven_is_a_usage_error_that_says_what_failed_and_how_to_drive_it(capsys):
    # Trained after every step, the original's loss is NaN and its weights become NaN: sampling raises.
    code = verify_main([str(EPOCH_AGENT / "expected.py"), "--original", str(EPOCH_AGENT / "input.py"),
                        "--config", str(EPOCH_AGENT / "verify.toml"), "--train-every", "step"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "the original with twin recurrent cores cannot be driven: take_action() raised ValueError" in captured.err
    assert f"{EPOCH_AGENT / 'input.py'}:" in captured.err  # where the original failed
    assert 'train-every = "epoch"' in captured.err and "--driver my_driver:adapt" in captured.err
    assert "def adapt(model):" in captured.err
    assert "warning: the original's loss is not finite at 72 of 72 train calls" in captured.err


def test_a_nan_the_original_shows_too_is_not_the_rewrites_failure():
    report = run(EPOCH_AGENT / "expected.py", epoch_agent_config(train_every="step", checks=("interface", "shapes", "replay")))
    assert report.exit_code == 0, report.summary()
    assert "72 non-finite losses, as the original's at the same train calls" in report.check("interface").details
    assert any("loss is not finite" in w for w in report.warnings)


def test_a_nan_only_the_rewrite_shows_fails_interface_with_the_originals_loss_beside_it(tmp_path):
    expected = (EPOCH_AGENT / "expected.py").read_text(encoding="utf-8")
    broken = expected.replace("(advantages.std() + 1e-8)", "(advantages[:1].std() + 1e-8)")
    assert broken != expected
    path = write(tmp_path / "expected.py", broken)
    report = run(path, epoch_agent_config(checks=("interface",)))
    assert report.exit_code == 1
    reason = report.check("interface").reason
    assert reason.startswith("train #0 returned a non-finite loss nan (the original's: ")
    assert "nan)" not in reason


def test_reasons_are_printed_as_plain_text_not_as_rich_markup():
    from gru2lstm.verify.results import CheckResult, VerifyReport

    report = VerifyReport(rewritten="a.py", original="b.py", checks=[
        CheckResult("interface", False, "train #0 returned [nan, nan] and [bold]x[/bold]", ["losses: [1.0, nan]"]),
    ])
    out = io.StringIO()
    report.render_text(out=out, err=io.StringIO())
    text = out.getvalue()
    assert "[nan, nan]" in text and "[bold]x[/bold]" in text and "[1.0, nan]" in text


# ---------------------------------------------------------------------------- command line
def test_cli_json_output_and_exit_code_zero(capsys):
    code = verify_main([
        str(TINY / "expected.py"), "--original", str(TINY / "input.py"), "--config", str(TINY / "verify.toml"),
        "--format", "json", "--steps", "48",
    ])
    out = capsys.readouterr().out
    data = json.loads(out)
    assert code == 0
    equivalence = next(c for c in data["checks"] if c["name"] == "equivalence")
    assert "identical actions (48)" in equivalence["reason"]  # --steps is the number of acting steps in all
    assert data["passed"] is True and data["exit_code"] == 0
    assert [c["name"] for c in data["checks"]] == DEFAULT_CHECKS
    assert {c["status"] for c in data["checks"]} == {"PASS"}
    assert all(isinstance(c["reason"], str) and c["reason"] for c in data["checks"])


def test_cli_text_output_is_a_table_of_the_checks(capsys):
    code = verify_main([
        str(TINY / "expected.py"), "--original", str(TINY / "input.py"), "--class", "TinyAgent",
        "--kwargs", json.dumps(TINY_KWARGS), "--obs-shape", "4", "--checks", "interface,shapes",
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert "interface" in out and "shapes" in out and "PASS" in out and "replay" not in out
    assert "all checks passed" in out


def test_cli_exit_code_one_when_a_check_fails(tmp_path, capsys):
    broken = write(tmp_path / "agent.py", tiny_text("expected").replace(
        "c_states = torch.cat(cs, dim=1)", "c_states = torch.cat(hs, dim=1)"))
    code = verify_main([
        str(broken), "--original", str(TINY / "input.py"), "--config", str(TINY / "verify.toml"), "--format", "json",
    ])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert statuses["replay"] == "FAIL" and statuses["interface"] == "PASS"
    assert "equal to the acted h" in next(c["reason"] for c in data["checks"] if c["name"] == "replay")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--class", "Nope"], "no class or factory named 'Nope' (classes there: TinyAgent)"),
        (["--kwargs", '{"obs_sise": 4}'], "constructor: TinyAgent(obs_size: int = 4, action_space: int = 2"),
        (["--kwargs", "{not json"], "kwargs: not valid JSON"),
        (["--kwargs", "[1, 2]"], "kwargs: expected a JSON object"),
        (["--obs-shape", "4,x"], "obs-shape: expected integers"),
        (["--checks", "interface,speling"], "unknown check(s) speling"),
        (["--steps", "0"], "steps must be a positive integer"),
        (["--driver", "nocolon"], "driver must look like 'module:function'"),
    ],
)
def test_cli_usage_errors_exit_two_with_a_clear_message(extra, message, capsys):
    argv = [str(TINY / "expected.py"), "--original", str(TINY / "input.py"), "--obs-shape", "4", "--class", "TinyAgent"]
    code = verify_main(argv + extra)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err


def test_a_missing_file_or_original_is_a_usage_error(tmp_path, capsys):
    assert verify_main([str(tmp_path / "nope.py"), "--original", str(TINY / "input.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert verify_main([str(TINY / "expected.py"), "--original", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_gru2lstm_command_runs_verify():
    result = subprocess.run(
        [sys.executable, "-m", "gru2lstm", "verify", str(TINY / "expected.py"), "--original", str(TINY / "input.py"),
         "--config", str(TINY / "verify.toml"), "--checks", "interface", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["checks"][0]["name"] == "interface"


# ---------------------------------------------------------------------------- configuration
def test_configuration_precedence_pyproject_then_config_file_then_command_line(tmp_path):
    write(tmp_path / "pyproject.toml", """
        [tool.gru2lstm.verify]
        class = "FromPyproject"
        steps = 10
        seed = 3
        kwargs = { hidden_size = 8 }

        [tool.gru2lstm.verify.files."models/special_*.py"]
        class = "Special"
    """)
    plain = write(tmp_path / "models" / "agent.py", "")
    special = write(tmp_path / "models" / "special_agent.py", "")
    assert load_config(plain).class_name == "FromPyproject"
    assert load_config(plain).steps == 10 and load_config(plain).seed == 3
    assert load_config(plain).kwargs == {"hidden_size": 8}
    assert load_config(special).class_name == "Special"
    extra = write(tmp_path / "extra.toml", """
        steps = 20
        original = "old/agent.py"
        obs-shape = "4, 9, 9"
    """)
    config = load_config(plain, None, extra)
    assert config.steps == 20 and config.seed == 3 and config.obs_shape == (4, 9, 9)
    assert Path(config.original) == tmp_path / "old" / "agent.py"  # relative to the config file
    config = load_config(plain, {"steps": 5, "kwargs": '{"hidden_size": 4}', "learn": True}, extra)
    assert config.steps == 5 and config.kwargs == {"hidden_size": 4} and config.learn is True


def test_a_config_file_may_also_be_a_pyproject_with_the_tool_table(tmp_path):
    config_file = write(tmp_path / "other.toml", """
        [tool.gru2lstm.verify]
        class = "X"
        n_actions = 5
    """)
    config = load_config(tmp_path / "a.py", None, config_file, use_pyproject=False)
    assert config.class_name == "X" and config.action_space == 5


def test_unknown_keys_are_warnings_and_bad_values_are_errors(tmp_path):
    config_file = write(tmp_path / "verify.toml", 'class = "X"\nstores_state = false\n')
    config = load_config(tmp_path / "a.py", None, config_file, use_pyproject=False)
    assert any("unknown key 'stores_state'" in w for w in config.warnings)
    bad = write(tmp_path / "bad.toml", 'steps = "many"\n')
    with pytest.raises(ConfigError, match="steps must be a positive integer"):
        load_config(tmp_path / "a.py", None, bad, use_pyproject=False)
    broken = write(tmp_path / "broken.toml", "steps = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path / "a.py", None, broken, use_pyproject=False)


# ---------------------------------------------------------------------------- loading
PACKAGE_MODEL = """
    import torch
    from torch import nn

    from .util import HIDDEN
    from pkg.util import make_core


    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = make_core()
            self.hidden = HIDDEN
"""


def make_package(root: Path) -> Path:
    write(root / "pkg" / "__init__.py", "")
    write(root / "pkg" / "util.py", """
        from torch import nn
        import extdep

        HIDDEN = extdep.SIZE


        def make_core():
            return nn.LSTM(HIDDEN, HIDDEN)
    """)
    return write(root / "pkg" / "model.py", PACKAGE_MODEL)


def test_both_sides_load_as_modules_of_their_package_without_clobbering_sys_modules(tmp_path, monkeypatch):
    outside = write(tmp_path / "elsewhere" / "extdep.py", "SIZE = 6\n")
    monkeypatch.setenv("PYTHONPATH", str(outside.parent))
    model = make_package(tmp_path / "project")
    original_util = (tmp_path / "project" / "pkg" / "util.py").read_text().replace("nn.LSTM", "nn.GRU")
    sentinel = object()
    monkeypatch.setitem(sys.modules, "pkg", sentinel)  # a same-named package already imported
    before = set(sys.modules)

    rewritten = load_module(model, "rewritten")
    original = load_module(model, "original", text=model.read_text(),
                           overrides={str(tmp_path / "project" / "pkg" / "util.py"): original_util})

    assert rewritten.name == original.name == "pkg.model"
    assert rewritten.module is not original.module
    assert type(rewritten.module.Model().core).__name__ == "LSTM"
    assert type(original.module.Model().core).__name__ == "GRU"  # its package's util came from the override
    assert rewritten.module.Model().hidden == 6  # the user's PYTHONPATH was honoured
    assert sys.modules["pkg"] is sentinel
    assert not {n for n in set(sys.modules) - before if n.startswith("pkg") or n == "extdep"}


def test_a_file_outside_any_package_loads_under_a_private_alias_with_its_folder_on_the_path(tmp_path):
    write(tmp_path / "helper.py", "VALUE = 41\n")
    path = write(tmp_path / "script.py", "import helper\nANSWER = helper.VALUE + 1\n")
    loaded = load_module(path, "rewritten")
    assert loaded.module.ANSWER == 42
    assert loaded.name.startswith("_gru2lstm_verify_rewritten_")
    assert loaded.name not in sys.modules and "helper" not in sys.modules


def test_a_rewrite_that_cannot_be_imported_fails_every_check(tmp_path):
    path = write(tmp_path / "agent.py", tiny_text("expected").replace("import torch.nn as nn", "import torch.nn as nn\nimport no_such_module_here"))
    report = verify_files(path, tiny_text("input"), VerifyConfig(class_name="TinyAgent", kwargs=TINY_KWARGS, obs_shape=(4,)))
    assert report.exit_code == 1
    assert all(not c.passed for c in report.checks)
    assert "cannot be imported" in report.checks[0].reason and "no_such_module_here" in report.checks[0].reason


def test_a_rewrite_that_crashes_while_driven_fails_interface_with_the_line_and_the_rest_are_not_checked(tmp_path):
    crashing = tiny_text("expected").replace(
        "self.pending = (obs, (self.hidden[0].detach(), self.hidden[1].detach()), int(action))",
        "self.pending = (obs, self.hidden[0].detach(), int(action))",
    )
    path = write(tmp_path / "agent.py", crashing)
    report = verify_files(path, tiny_text("input"), VerifyConfig(class_name="TinyAgent", kwargs=TINY_KWARGS, obs_shape=(4,)))
    interface = report.check("interface")
    assert not interface.passed
    assert interface.reason.startswith("train_step() raised ValueError")
    assert f"{path}:" in interface.reason
    assert report.check("shapes").reason.startswith("not checked: train_step() raised")
    assert not report.check("equivalence").passed


# ---------------------------------------------------------------------------- the original from git
def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_without_original_the_original_is_read_from_git_head(tmp_path, capsys):
    git(tmp_path, "init", "-q")
    agent = write(tmp_path / "agent.py", tiny_text("input"))
    git(tmp_path, "add", "agent.py")
    git(tmp_path, "commit", "-q", "-m", "gru")
    agent.write_text(tiny_text("expected"), encoding="utf-8")
    shutil.copy(TINY / "verify.toml", tmp_path / "verify.toml")
    code = verify_main([str(agent), "--config", str(tmp_path / "verify.toml"), "--format", "json", "--checks", "equivalence"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data
    assert data["original"] == "git HEAD:agent.py"

    untracked = write(tmp_path / "new_agent.py", tiny_text("expected"))
    code = verify_main([str(untracked), "--config", str(tmp_path / "verify.toml")])
    assert code == 2
    assert "not tracked by git" in capsys.readouterr().err


# ---------------------------------------------------------------------------- drivers
DRIVER = """
    from gru2lstm.verify import Interface


    def adapt(model):
        return Interface(act=model.act, observe=model.remember, train=model.learn, reset=model.forget)
"""


def custom_interface(text: str) -> str:
    for old, new in (("take_action", "act"), ("add_memory_ppo", "remember"), ("train_step", "learn"), ("start_epoch_action", "forget")):
        text = text.replace(f"def {old}(", f"def {new}(")
    return text


def test_a_driver_adapts_any_interface_and_without_one_the_model_is_refused(tmp_path, capsys):
    original = write(tmp_path / "original" / "agent.py", custom_interface(tiny_text("input")))
    rewritten = write(tmp_path / "agent.py", custom_interface(tiny_text("expected")))
    write(tmp_path / "drivers" / "my_driver.py", DRIVER)
    argv = [str(rewritten), "--original", str(original), "--class", "TinyAgent", "--kwargs", json.dumps(TINY_KWARGS), "--obs-shape", "4"]
    assert verify_main(argv) == 2
    assert "does not have the IQN-style interface" in capsys.readouterr().err
    os.chdir(tmp_path / "drivers")
    try:
        code = verify_main(argv + ["--driver", "my_driver:adapt", "--format", "json"])
    finally:
        os.chdir(ROOT)
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data
    assert data["interface"] == "driver my_driver:adapt"
    assert "my_driver" not in sys.modules


FACTORY = """
    from types import SimpleNamespace


    def make(cls, **kwargs):
        return cls(SimpleNamespace(**kwargs))
"""


def takes_an_args_object(text: str) -> str:
    """The epoch agent with a constructor that takes one args object (not expressible in JSON)."""
    old = ("def __init__(self, obs_size: int = 4, action_space: int = 3, hidden_size: int = 16, lr: float = 0.01,\n"
           "                 gamma: float = 0.9, clip: float = 0.2) -> None:\n")
    new = ("def __init__(self, args) -> None:\n"
           "        obs_size, action_space, hidden_size = args.obs_size, args.action_space, args.hidden_size\n"
           "        lr, gamma, clip = 0.01, 0.9, 0.2\n")
    assert old in text
    return text.replace(old, new)


def test_a_factory_builds_a_model_whose_constructor_takes_what_json_cannot_express(tmp_path, capsys):
    original = write(tmp_path / "original" / "agent.py", takes_an_args_object((EPOCH_AGENT / "input.py").read_text()))
    rewritten = write(tmp_path / "agent.py", takes_an_args_object((EPOCH_AGENT / "expected.py").read_text()))
    write(tmp_path / "verify_factory.py", FACTORY)
    argv = [str(rewritten), "--original", str(original), "--class", "EpochAgent", "--obs-shape", "4",
            "--kwargs", '{"obs_size": 4, "action_space": 3, "hidden_size": 16}']
    assert verify_main(argv) == 2
    assert "--factory module:function" in capsys.readouterr().err
    assert verify_main(argv + ["--factory", "verify_factory:make", "--format", "json"]) == 0  # found in the package root
    data = json.loads(capsys.readouterr().out)
    assert {c["status"] for c in data["checks"]} == {"PASS"}


def test_a_driver_that_cannot_be_imported_is_a_usage_error(capsys):
    code = verify_main([str(TINY / "expected.py"), "--original", str(TINY / "input.py"), "--config", str(TINY / "verify.toml"),
                        "--driver", "no_such_driver_module:drive"])
    assert code == 2
    assert "cannot import no_such_driver_module" in capsys.readouterr().err


# ---------------------------------------------------------------------------- report
def test_the_text_report_names_every_check_with_its_result_and_reason():
    report = run(TINY / "expected.py", tiny_config(checks=("interface", "replay")))
    out = io.StringIO()
    report.render_text(out=out, err=io.StringIO())
    text = out.getvalue()
    assert "interface" in text and "replay" in text and text.count("PASS") == 2
    assert "all checks passed" in text
