"""How long `gru2lstm verify` takes on the DualHeadRecurrentPPO fixture (the default checks).

    python benchmarks/bench_verify.py [--repeat N] [--fixture NAME]

Runs `gru2lstm verify fixtures/<fixture>/expected.py --original .../input.py --config .../verify.toml`
in a fresh interpreter (so the time includes importing torch, as a user sees it) and prints the
wall time against the 20 s budget, plus the per-check times the report gives. Exits 1 when a
check fails or the budget is exceeded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fixture", default="dual_head_ppo")
    args = parser.parse_args()
    folder = ROOT / "fixtures" / args.fixture
    command = [
        sys.executable, "-m", "gru2lstm", "verify", str(folder / "expected.py"),
        "--original", str(folder / "input.py"), "--config", str(folder / "verify.toml"), "--format", "json",
    ]
    # Baseline: a bare interpreter importing torch, which every verify run pays first.
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    torch_import = time.perf_counter() - started

    walls, report = [], None
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        if result.returncode not in (0, 1):
            print(result.stderr, file=sys.stderr)
            return 1
        report = json.loads(result.stdout)
    wall = statistics.median(walls)
    print(f"gru2lstm verify {args.fixture} (default checks), median of {args.repeat}: {wall:.1f}s "
          f"(budget {BUDGET:.0f}s: {wall / BUDGET:.0%} of it)")
    print(f"  runs: {', '.join(f'{w:.1f}s' for w in walls)}")
    print(f"  baseline 'python -c \"import torch\"': {torch_import:.1f}s (ratio {wall / torch_import:.1f}x)")
    print(f"  inside the run: {report['seconds']:.1f}s; per check: "
          + ", ".join(f"{c['name']} {c['seconds']:.1f}s {c['status']}" for c in report["checks"]))
    return 0 if report["passed"] and wall <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
