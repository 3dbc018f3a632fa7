"""How fast `gru2lstm rewrite --check` is, as ratios against named baselines measured in this run.

1. On the main fixture, against `python -c "import libcst"` (the floor: any LibCST tool pays it).
2. Over the installed torch package's own .py files (~2,300 files, ~1.2 M lines), against
   `ruff check --select E9 --no-cache` over the same tree (a parse-only lint in Rust).

Each command runs a few times; the median wall time counts. Run: python benchmarks/bench_rewrite.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "dual_head_ppo" / "input.py"


def median_seconds(command: list, runs: int, allowed=(0, 1)) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        if result.returncode not in allowed:
            raise SystemExit(f"{' '.join(command)} exited {result.returncode}")
    return statistics.median(times)


def torch_tree() -> Path:
    """The installed torch package, found without importing it (importing torch takes seconds)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise SystemExit("torch is not installed: pip install torch==2.13.0")
    return Path(spec.origin).parent


def count_lines(tree: Path) -> tuple:
    files = lines = 0
    for folder, _, names in os.walk(tree):
        for name in names:
            if name.endswith(".py"):
                files += 1
                with open(os.path.join(folder, name), "rb") as handle:
                    lines += handle.read().count(b"\n")
    return files, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    gru2lstm = [sys.executable, "-m", "gru2lstm", "rewrite", "--check", "--quiet"]

    floor = median_seconds([sys.executable, "-c", "import libcst"], args.runs)
    fixture = median_seconds(gru2lstm + [str(FIXTURE)], args.runs)
    print(f"main fixture ({FIXTURE.relative_to(ROOT)}):")
    print(f"  import libcst                 {floor:7.3f} s")
    print(f"  gru2lstm rewrite --check      {fixture:7.3f} s")
    print(f"  ratio against the floor       {fixture / floor:7.2f}x")

    tree = torch_tree()
    files, lines = count_lines(tree)
    print(f"torch package ({files} files, {lines:,} lines, {tree}):")
    ruff = shutil.which("ruff")
    ours = median_seconds(gru2lstm + [str(tree)], max(1, args.runs // 2))
    print(f"  gru2lstm rewrite --check      {ours:7.3f} s")
    if ruff is None:
        print("  ruff not found (pip install ruff): no baseline")
        return
    baseline = median_seconds([ruff, "check", "--select", "E9", "--no-cache", "--quiet", str(tree)], max(1, args.runs // 2))
    print(f"  ruff check --select E9        {baseline:7.3f} s")
    print(f"  ratio against ruff            {ours / baseline:7.2f}x")


if __name__ == "__main__":
    main()
