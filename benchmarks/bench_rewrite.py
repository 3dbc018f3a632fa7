"""How fast is `gru2lstm rewrite --check`, against named baselines, measured in one run.

    python benchmarks/bench_rewrite.py [--quick] [--runs N] [--torch-dir DIR] [--skip-torch] [--only ROW ...]

Each row runs the subject and its baseline alternately (subject, baseline, subject, …) after one
warm-up of each, and prints the median wall time and peak RSS of each and the median of the
pairwise ratios, so that a machine whose speed drifts during the run still gives a fair ratio:

- fixture:  `rewrite --check fixtures/dual_head_ppo/input.py` vs `python -c "import libcst"`
- torch:    `rewrite --check --exclude /__pycache__/ <installed torch package>` vs `ruff check --select E9 --no-cache`
- models:   one ~14,400-line file of renamed recurrent-PPO fixture models vs LibCST's
            `parse_module` of that file
- big:      a 30,000-line file of renamed fixture models vs LibCST's `parse_module` of it; peak
            RSS above `import libcst` against the LibCST tree's (the parse's peak above it)
- files:    300 one-model files with `-j 2` vs the one-file time: the 18 distinct fixtures, one
            process each, one after another, scaled to 300 files over 2 cores; and the time until
            the first result shows (the progress line on a terminal: run under a pty)
- scaling:  the same generated project at 1x, 4x, 16x lines (twice the files of twice the
            lines at each step), `-j 1`: time per line net of `python -c "import libcst"`, and
            the exponent of a least-squares fit of log(net time) on log(lines)

Inputs are generated from the repo's own fixtures (benchmarks/synthetic.py) into a temporary
folder. The engine run is this checkout's (`python -m gru2lstm` with PYTHONPATH set to it), its
bytecode compiled first as an installed package's is.
Exit codes are printed, not judged: `--check` exits 1 when it finds work, 123 on an engine error.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import FIXTURES, PPO_FIXTURES, build_source, write_project  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "dual_head_ppo" / "input.py"
ENV = dict(os.environ, NO_COLOR="1", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
PROGRESS = b"files migrated"  # what the progress line says once a group is done
CORES = 2  # the `-j` of the files row, and the cores its bound divides by


@dataclass
class Run:
    wall: float
    rss_mb: float  # peak resident set of the largest single process of the run (the kernel's ru_maxrss)
    code: int
    first: float = math.nan  # seconds until the first progress line (pty runs only)


@dataclass
class Series:
    runs: list = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(run.wall for run in self.runs)

    @property
    def rss_mb(self) -> float:
        return max(run.rss_mb for run in self.runs)

    @property
    def codes(self) -> str:
        return "/".join(str(code) for code in sorted({run.code for run in self.runs}))


def gru2lstm(*arguments) -> list:
    return [sys.executable, "-m", "gru2lstm", "rewrite", "--check", "--quiet", *map(str, arguments)]


def libcst_parse(path: Path) -> list:
    return [sys.executable, "-c", f"import libcst; libcst.parse_module(open({str(path)!r}).read())"]


IMPORT_LIBCST = [sys.executable, "-c", "import libcst"]


def run_once(command: list, pty: bool = False) -> Run:
    """Wall time, peak RSS (from the kernel's account of the finished process) and exit code;
    with `pty`, stderr is a terminal and the first progress line is timed too."""
    start = time.perf_counter()
    if not pty:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT)
        first = math.nan
    else:
        reader, writer = os.openpty()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=writer, env=ENV, cwd=ROOT)
        os.close(writer)
        first = _first_progress(reader, start)
        os.close(reader)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(time.perf_counter() - start, usage.ru_maxrss / 1024, process.returncode, first)


def _first_progress(reader: int, start: float) -> float:
    """Read the terminal until it closes; seconds from `start` to the first progress line."""
    first, seen = math.nan, b""
    while True:
        select.select([reader], [], [])
        try:
            chunk = os.read(reader, 65536)
        except OSError:  # EIO: the other side closed
            return first
        if not chunk:
            return first
        seen = (seen + chunk)[-256:]
        if math.isnan(first) and PROGRESS in seen:
            first = time.perf_counter() - start


def alternate(subject: list, baseline: list, runs: int, pty: bool = False, warm_up: bool = True) -> tuple:
    """(subject Series, baseline Series, median of the pairwise ratios), after one warm-up each
    (which fills the file cache; inputs generated by this run are in it already)."""
    if warm_up:
        run_once(subject), run_once(baseline)
    mine, theirs = Series(), Series()
    for _ in range(runs):
        mine.runs.append(run_once(subject, pty))
        theirs.runs.append(run_once(baseline))
    ratio = statistics.median(a.wall / b.wall for a, b in zip(mine.runs, theirs.runs))
    return mine, theirs, ratio


def show(mine: Series, theirs: Series, baseline_name: str, ratio: float, bound: float, scale: float = 1.0) -> None:
    print(f"  gru2lstm  {mine.wall:8.2f} s  peak {mine.rss_mb:6.0f} MB  exit {mine.codes}  "
          f"(runs {', '.join(f'{r.wall:.2f}' for r in mine.runs)})")
    print(f"  baseline  {theirs.wall:8.2f} s  peak {theirs.rss_mb:6.0f} MB  exit {theirs.codes}  {baseline_name}")
    verdict = "holds" if ratio <= bound else "DOES NOT HOLD"
    print(f"  ratio     {ratio:8.2f} x{'' if scale == 1 else ' (scaled)'}   bound <= {bound:g}: {verdict}\n")


class Bench:
    def __init__(self, args, scratch: Path) -> None:
        self.args = args
        self.scratch = scratch
        self.summary = []  # (row, figure, bound, holds)
        self.import_rss: float = math.nan  # peak RSS of `python -c "import libcst"`

    def record(self, row: str, figure: str, bound: str, holds: bool) -> None:
        self.summary.append((row, figure, bound, holds))

    def fixture(self) -> None:
        print(f"fixture: {FIXTURE.relative_to(ROOT)} ({_lines(FIXTURE)} lines) vs `import libcst`")
        mine, theirs, ratio = alternate(gru2lstm(FIXTURE), IMPORT_LIBCST, self.args.runs)
        self.import_rss = theirs.rss_mb
        show(mine, theirs, "python -c 'import libcst'", ratio, 3)
        self.record("fixture vs import libcst", f"{ratio:.2f}x", "<= 3x", ratio <= 3)

    def torch(self) -> None:
        tree = self.args.torch_dir or _torch_dir()
        files = sorted(tree.rglob("*.py"))
        lines = sum(_lines(path) for path in files)
        print(f"torch: {tree} ({len(files)} files, {lines:,} lines) vs ruff E9")
        ruff = [*_ruff(), "check", "--select", "E9", "--no-cache", "--quiet", str(tree)]
        # An explicit --exclude: the .gitignore above a site-packages (pyenv's, a repo's) would
        # otherwise leave nothing to check.
        mine, theirs, ratio = alternate(gru2lstm(tree, "--exclude", "/__pycache__/"), ruff, self.args.runs)
        show(mine, theirs, "ruff check --select E9 --no-cache", ratio, 4)
        self.record("torch tree vs ruff E9", f"{ratio:.2f}x", "<= 4x", ratio <= 4)

    def models(self) -> None:
        path = self.scratch / "ppo_models.py"
        source, copies = build_source(self.args.models_lines, PPO_FIXTURES)
        path.write_text(source)
        print(f"models: one file of {copies} recurrent-PPO models ({source.count(chr(10)):,} lines) vs LibCST parse_module")
        mine, theirs, ratio = alternate(gru2lstm(path), libcst_parse(path), self.args.runs, warm_up=False)
        show(mine, theirs, "libcst.parse_module(<file>)", ratio, 3)
        self.record(f"{source.count(chr(10)):,}-line file of {copies} models vs parse", f"{ratio:.2f}x", "<= 3x", ratio <= 3)

    def big(self) -> None:
        path = self.scratch / "big.py"
        source, copies = build_source(self.args.big_lines)
        path.write_text(source)
        lines = source.count("\n")
        print(f"big: one file of {lines:,} lines ({copies} models) vs LibCST parse_module; memory vs LibCST's tree")
        mine, theirs, ratio = alternate(gru2lstm(path), libcst_parse(path), self.args.runs, warm_up=False)
        show(mine, theirs, "libcst.parse_module(<file>)", ratio, 3)
        if math.isnan(self.import_rss):
            self.import_rss = Series([run_once(IMPORT_LIBCST) for _ in range(3)]).rss_mb
        tree_mb = theirs.rss_mb - self.import_rss
        memory = (mine.rss_mb - self.import_rss) / tree_mb
        print(f"  memory    peak {mine.rss_mb:.0f} MB; above `import libcst` ({self.import_rss:.0f} MB): "
              f"{mine.rss_mb - self.import_rss:.0f} MB vs the tree's {tree_mb:.0f} MB = {memory:.2f}x "
              f"(bound <= 3: {'holds' if memory <= 3 else 'DOES NOT HOLD'})\n")
        self.record(f"{lines:,}-line file vs parse", f"{ratio:.2f}x", "<= 3x", ratio <= 3)
        self.record(f"{lines:,}-line file memory vs LibCST tree", f"{memory:.2f}x ({mine.rss_mb:.0f} MB peak)", "<= 3x", memory <= 3)

    def files(self) -> None:
        count = self.args.files
        folder = self.scratch / "files"
        write_project(folder, count, 1)  # one model per file
        singles = sorted(folder.iterdir())[: len(FIXTURES)]  # one file of each fixture
        one_by_one = [sys.executable, "-c", _ONE_BY_ONE, *map(str, singles)]
        print(f"files: {count} one-model files, -j {CORES}, vs the one-file time "
              f"({len(singles)} distinct files, one process each) x {count}/{len(singles)} / {CORES} cores")
        mine, theirs, _ = alternate([*gru2lstm(folder), "-j", str(CORES)], one_by_one, self.args.runs, pty=True, warm_up=False)
        scale = count / len(singles) / CORES
        ratio = statistics.median(a.wall / (b.wall * scale) for a, b in zip(mine.runs, theirs.runs))
        show(mine, theirs, f"one process per file x {count}/{len(singles)} / {CORES}", ratio, 1.2, scale)
        first = statistics.median(run.first for run in mine.runs)
        print(f"  first result after {first:.2f} s (runs {', '.join(f'{r.first:.2f}' for r in mine.runs)}; bound <= 2 s: "
              f"{'holds' if first <= 2 else 'DOES NOT HOLD'})\n")
        self.record(f"{count} files -j {CORES} vs files x one-file / cores", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)
        self.record(f"{count} files: first result", f"{first:.2f} s", "<= 2 s", first <= 2)

    def scaling(self) -> None:
        print("scaling: one generated project at 1x, 4x, 16x lines, -j 1, net of `import libcst`")
        sizes, nets = [], []
        for step in range(3):
            files, per_file = 2 * 2**step, self.args.scale_lines * 2**step
            folder = self.scratch / f"scale_{step}"
            lines = write_project(folder, files, per_file)
            mine, theirs, _ = alternate([*gru2lstm(folder), "-j", "1"], IMPORT_LIBCST, self.args.runs, warm_up=False)
            net = statistics.median(a.wall - b.wall for a, b in zip(mine.runs, theirs.runs))
            sizes.append(lines)
            nets.append(net)
            print(f"  {4**step:>2}x  {files:>2} files, {lines:>6,} lines: {mine.wall:7.2f} s ({net:.2f} s net), "
                  f"{net / lines * 1e3:.3f} ms per line, peak {mine.rss_mb:.0f} MB, exit {mine.codes}")
        exponent = _slope([math.log(s) for s in sizes], [math.log(n) for n in nets])
        print(f"  fitted exponent {exponent:.2f} (bound <= 1.1: {'holds' if exponent <= 1.1 else 'DOES NOT HOLD'})\n")
        self.record("scaling 1x/4x/16x", f"exponent {exponent:.2f}", "<= 1.1", exponent <= 1.1)


# The baseline of the files row: each file in its own gru2lstm process, one after another.
_ONE_BY_ONE = (
    "import subprocess, sys\n"
    "for path in sys.argv[1:]:\n"
    "    subprocess.run([sys.executable, '-m', 'gru2lstm', 'rewrite', '--check', '--quiet', path],"
    " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
)


def _slope(xs: list, ys: list) -> float:
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def _ruff() -> list:
    script = shutil.which("ruff")
    if script:
        return [script]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    raise SystemExit("ruff is not installed (pip install -e '.[test]'), or pass --skip-torch")


def _torch_dir() -> Path:
    spec = importlib.util.find_spec("torch")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torch is not installed (pip install torch==2.13.0), or pass --torch-dir / --skip-torch")
    return Path(list(spec.submodule_search_locations)[0])


ROWS = ("fixture", "torch", "models", "big", "files", "scaling")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs (the bounds are still judged): a few minutes")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command per row (default 3)")
    parser.add_argument("--torch-dir", type=Path, help="the tree of the torch row (default: the installed torch package)")
    parser.add_argument("--skip-torch", action="store_true", help="leave out the torch row")
    parser.add_argument("--only", nargs="+", choices=ROWS, help="run only these rows")
    args = parser.parse_args(argv)
    args.models_lines, args.big_lines, args.files, args.scale_lines = (
        (3_600, 7_500, 60, 100) if args.quick else (14_300, 30_000, 300, 200)
    )
    rows = [row for row in (args.only or ROWS) if not (row == "torch" and args.skip_torch)]

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.runs} runs per command, alternating\n")
    # The engine's bytecode compiled first, as an installed package's is (pip compiles it; LibCST's
    # is): under PYTHONDONTWRITEBYTECODE a checkout would otherwise compile every module on each run.
    compileall.compile_dir(ROOT / "gru2lstm", quiet=1)
    with tempfile.TemporaryDirectory(prefix="gru2lstm-bench-") as scratch:
        bench = Bench(args, Path(scratch))
        for row in rows:
            getattr(bench, row)()
    print("summary (median of pairwise ratios; peak RSS: the largest single process of a run):")
    for row, figure, bound, holds in bench.summary:
        print(f"  {row:<48} {figure:>24}  {bound:<8} {'holds' if holds else 'DOES NOT HOLD'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
