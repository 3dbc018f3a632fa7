"""A run killed at any moment loses nothing and leaves nothing behind.

A real `gru2lstm rewrite` over a few hundred files is signalled while it writes — SIGINT to its
process group (Ctrl-C in a terminal), SIGTERM or SIGKILL to the main process (`kill`,
`kill -9`) — and then every file must be byte for byte its original or its rewrite, no
temporary file may remain, and no process of the run may survive it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from test_cli import SMALL_GRU, SMALL_LSTM

FILES = 200
# Subprocesses import this checkout's gru2lstm, whatever is installed.
ENVIRONMENT = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _variant(text: str, number: int) -> str:
    """SMALL_GRU or SMALL_LSTM with its own hidden size, so that no file can pass for another."""
    return text.replace("hidden_size: int = 8", f"hidden_size: int = {number + 1}")


@pytest.fixture
def files(tmp_path):
    """{path: (original bytes, rewritten bytes)}; the rewrite of SMALL_GRU is SMALL_LSTM (test_cli)."""
    folder = tmp_path / "project"
    folder.mkdir()
    expected = {}
    for number in range(FILES):
        path = folder / f"m{number:03}.py"
        path.write_text(_variant(SMALL_GRU, number))
        expected[path] = (_variant(SMALL_GRU, number).encode(), _variant(SMALL_LSTM, number).encode())
    return expected


def _start(folder: Path, jobs: int) -> subprocess.Popen:
    """The run in a session of its own, so that its process group holds it and its workers only."""
    return subprocess.Popen(
        [sys.executable, "-m", "gru2lstm", "rewrite", "--quiet", "-j", str(jobs), str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=ENVIRONMENT,
    )


def _rewritten(files: dict) -> set:
    return {path for path, (_, after) in files.items() if path.read_bytes() == after}


def _group_members(group: int) -> list:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        state, group_id = fields[0], int(fields[2])
        if group_id == group and state != "Z":
            members.append(int(entry.name))
    return members


def _wait_for_no_member(group: int, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while _group_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _group_members(group)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
@pytest.mark.parametrize(
    "how, jobs, seed",
    [
        ("SIGINT to the group", 2, 1), ("SIGTERM", 2, 2), ("SIGKILL", 2, 3), ("SIGINT to the group", 2, 4),
        ("SIGKILL", 2, 5), ("SIGTERM", 1, 6),  # -j 1: migrating in the main process, no worker
    ],
)
def test_a_run_killed_while_writing_leaves_every_file_whole_and_nothing_behind(files, how, jobs, seed):
    chance = random.Random(seed)
    folder = next(iter(files)).parent
    run = _start(folder, jobs)
    try:
        moment = chance.randint(1, FILES // 2)  # a number of files written, so as not to depend on speed
        while len(_rewritten(files)) < moment and run.poll() is None:
            time.sleep(0.01)
        assert run.poll() is None, "the run ended before it could be interrupted; give it more files"
        signalled = time.monotonic()
        if how == "SIGINT to the group":
            os.killpg(run.pid, signal.SIGINT)
        else:
            os.kill(run.pid, getattr(signal, how))
        out, err = run.communicate(timeout=30)
        stopped = time.monotonic() - signalled
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()

    assert _wait_for_no_member(run.pid, seconds=5) == [], "a process of the run outlived it"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in files), "a temporary file was left"
    rewritten = _rewritten(files)
    for path, (before, after) in files.items():
        assert path.read_bytes() in (before, after), f"{path.name} is neither its original nor its rewrite"
    assert 0 < len(rewritten) < FILES, "the signal did not land while the run was writing"

    if how == "SIGKILL":
        assert run.returncode == -signal.SIGKILL
        return
    signum = signal.SIGINT if how.startswith("SIGINT") else signal.SIGTERM
    assert run.returncode == 128 + signum, err
    assert stopped < 3, f"took {stopped:.1f} s to stop"
    assert "Traceback" not in err
    said_rewritten = {Path(line[len("rewrote "):]) for line in err.splitlines() if line.startswith("rewrote ")}
    said_not = {Path(line.split(": ", 1)[1]) for line in err.splitlines() if line.startswith("not rewritten (interrupted): ")}
    assert said_rewritten == rewritten, "stderr must name exactly the files that were rewritten"
    assert said_not and not said_not & rewritten
    assert f"interrupted by {signum.name}" in err


def test_a_worker_that_dies_fails_its_files_only(tmp_path, capsys, monkeypatch):
    from gru2lstm import engine
    from gru2lstm.cli import main

    real = engine.process_group

    def dying(attempts, options):  # runs in a forked worker, which it kills for one file
        if any(path.name == "dies.py" for path in attempts[-1][0]):
            os._exit(1)
        return real(attempts, options)

    monkeypatch.setattr(engine, "process_group", dying)
    names = ["dies.py"] + [f"m{number}.py" for number in range(6)]
    for name in names:
        (tmp_path / name).write_text(SMALL_GRU)
    assert main(["rewrite", "--quiet", "-j", "2", str(tmp_path)]) == 123
    assert f"{tmp_path / 'dies.py'}:1:1: internal error: a worker process died" in capsys.readouterr().err
    assert (tmp_path / "dies.py").read_text() == SMALL_GRU
    assert all((tmp_path / name).read_text() == SMALL_LSTM for name in names[1:])


def test_a_terminal_sees_a_progress_line_and_a_pipe_does_not(tmp_path, monkeypatch):
    import io

    from gru2lstm.cli import main

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for number in range(10):
        (tmp_path / f"m{number}.py").write_text(SMALL_GRU)
    (tmp_path / "plain.py").write_text("x = 1\n")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["rewrite", "--quiet", "--check", "-j", "1", str(tmp_path)]) == 1
    assert terminal.getvalue() == "".join(f"\033[Kgru2lstm: {done}/10 files migrated\r" for done in range(1, 10)) + "\033[K"

    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert main(["rewrite", "--check", "-j", "1", str(tmp_path)]) == 1
    assert "files migrated" not in pipe.getvalue()


BUSY_POOL = """
import sys, time
from gru2lstm import workers
if sys.argv[1] == "watch":  # as on a platform without PR_SET_PDEATHSIG
    workers._kernel_kills_us_with_parent = lambda: False
with workers.WorkerPool(time.sleep, 2) as pool:
    print("started", flush=True)
    for _ in pool.results({1: (60,), 2: (60,)}):
        pass
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
@pytest.mark.parametrize("how", ["prctl", "watch"])
def test_busy_workers_die_with_their_parent(how):
    parent = subprocess.Popen(
        [sys.executable, "-c", BUSY_POOL, how], stdout=subprocess.PIPE, text=True, start_new_session=True, env=ENVIRONMENT
    )
    try:
        assert parent.stdout.readline() == "started\n"
        time.sleep(0.5)  # both workers are now asleep in their task
        assert len(_group_members(parent.pid)) == 3
        parent.kill()
        parent.wait()
        assert _wait_for_no_member(parent.pid, seconds=3) == []
    finally:
        for pid in _group_members(parent.pid):
            os.kill(pid, signal.SIGKILL)
