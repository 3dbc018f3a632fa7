"""How fast is `gru2lstm rewrite --check`, against named baselines, measured in one run.

    python benchmarks/bench_rewrite.py [--runs N] [--torch-runs N] [--torch-dir DIR] [--skip-torch]

Two comparisons, each the median wall time of a few runs (after one warm-up run that fills the
file cache), printed as absolute times and as a ratio:

1. one file: `gru2lstm rewrite --check fixtures/dual_head_ppo/input.py`
   against `python -c "import libcst"` — the floor: no LibCST tool can start faster.
2. a large tree: `gru2lstm rewrite --check <the installed torch package>` (~2,300 files,
   ~1.2 M lines; nearly all of them stop at the byte prefilter)
   against `ruff check --select E9 --no-cache <the same tree>` — a fast native linter that
   parses every file.

The torch package is located without importing it. Exit codes are printed, not judged:
`--check` exits 1 when it finds work, and 123 when a file fails (an engine bug to report).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "dual_head_ppo" / "input.py"


def gru2lstm_command() -> list:
    script = shutil.which("gru2lstm")
    return [script] if script else [sys.executable, "-m", "gru2lstm"]


def ruff_command() -> list:
    script = shutil.which("ruff")
    if script:
        return [script]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    raise SystemExit("ruff is not installed (pip install -e '.[test]')")


def torch_dir() -> Path:
    spec = importlib.util.find_spec("torch")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torch is not installed (pip install torch==2.13.0), or pass --torch-dir / --skip-torch")
    return Path(list(spec.submodule_search_locations)[0])


def measure(command: list, runs: int) -> tuple:
    """(median seconds, all times, exit codes) of `runs` runs after one warm-up run."""
    env = dict(os.environ, NO_COLOR="1")
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    times, codes = [], set()
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
        codes.add(result.returncode)
    return statistics.median(times), times, sorted(codes)


def tree_size(folder: Path) -> tuple:
    files = lines = 0
    for path in folder.rglob("*.py"):
        files += 1
        with open(path, "rb") as handle:
            lines += handle.read().count(b"\n")
    return files, lines


def show(label: str, command: list, median: float, times: list, codes: list) -> None:
    shown = " ".join(Path(part).name if i == 0 else part for i, part in enumerate(command))
    spread = ", ".join(f"{t:.3f}" for t in times)
    print(f"  {label:<9} {median:8.3f} s  (runs: {spread}; exit {'/'.join(map(str, codes))})  $ {shown}")


def compare(title: str, subject: list, baseline: list, runs: int) -> float:
    print(title)
    subject_result = measure(subject, runs)
    baseline_result = measure(baseline, runs)
    show("gru2lstm", subject, *subject_result)
    show("baseline", baseline, *baseline_result)
    ratio = subject_result[0] / baseline_result[0]
    print(f"  ratio     {ratio:8.2f} x the baseline\n")
    return ratio


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command for the fixture (default 5)")
    parser.add_argument("--torch-runs", type=int, default=3, help="timed runs per command for the torch tree (default 3)")
    parser.add_argument("--torch-dir", type=Path, help="the tree to check (default: the installed torch package)")
    parser.add_argument("--skip-torch", action="store_true", help="only the one-file comparison")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
    ratios = {}
    ratios["fixture / import libcst"] = compare(
        f"1. one file: {FIXTURE.relative_to(ROOT)} ({len(FIXTURE.read_bytes().splitlines())} lines)",
        [*gru2lstm_command(), "rewrite", "--check", str(FIXTURE)],
        [sys.executable, "-c", "import libcst"],
        args.runs,
    )
    if not args.skip_torch:
        tree = args.torch_dir or torch_dir()
        files, lines = tree_size(tree)
        ratios["torch tree / ruff E9"] = compare(
            f"2. a large tree: {tree} ({files} files, {lines:,} lines)",
            [*gru2lstm_command(), "rewrite", "--check", str(tree)],
            [*ruff_command(), "check", "--select", "E9", "--no-cache", "--quiet", str(tree)],
            args.torch_runs,
        )
    print("ratios (median gru2lstm time / median baseline time):")
    for name, ratio in ratios.items():
        print(f"  {name:<26} {ratio:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
