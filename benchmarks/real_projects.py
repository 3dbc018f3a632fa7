"""How `gru2lstm rewrite --check` fares on real projects: one row per checked-out project.

    python benchmarks/real_projects.py FOLDER [--timeout SECONDS]

FOLDER holds one subfolder per project (checked out outside this repo; their code is never
copied in). Each project is checked as a whole, as a new user would run the tool on it:
`python -m gru2lstm rewrite --check --format json PROJECT`, run from this checkout. The table
gives, per project: the exit code, the files that would change, the findings counted by code,
the interface changes (the G2L202 findings) and the wall time. Nothing is judged here: whether a
migration is right takes a person reading the diff (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERFACE_CHANGE = "G2L202"
COLUMNS = ("project", "exit", "would change", "findings", "interface changes", "time")


def check_project(project: Path, timeout: float) -> dict:
    """Run `rewrite --check --format json` on one project and summarise its JSON document."""
    # Run this checkout's engine, not whatever `gru2lstm` is installed.
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "gru2lstm", "rewrite", "--check", "--format", "json", str(project)]
    start = time.perf_counter()
    try:
        run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"project": project.name, "exit": "timeout", "seconds": timeout, "files": []}
    seconds = time.perf_counter() - start
    try:
        files = json.loads(run.stdout)["files"]
    except (json.JSONDecodeError, KeyError):
        # A crash or usage error prints no document; the exit code tells the story.
        files = []
    return {"project": project.name, "exit": run.returncode, "seconds": seconds, "files": files}


def would_change(files: list) -> list:
    return [record["path"] for record in files if record["status"] == "changed"]


def findings_by_code(files: list) -> collections.Counter:
    codes = (finding["code"] for record in files for finding in record["findings"])
    return collections.Counter(codes)


def row(result: dict, project: Path) -> tuple:
    files = result["files"]
    changed = [os.path.relpath(path, project) for path in would_change(files)]
    codes = findings_by_code(files)
    findings = ", ".join(f"{code}×{count}" for code, count in sorted(codes.items())) or "-"
    return (
        result["project"],
        str(result["exit"]),
        " ".join(changed) or "-",
        findings,
        str(codes[INTERFACE_CHANGE]),
        f"{result['seconds']:.2f}s",
    )


def print_table(rows: list) -> None:
    widths = [max(len(cells[i]) for cells in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    for cells in [COLUMNS, tuple("-" * width for width in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder holding one subfolder per project")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per project")
    args = parser.parse_args(argv)
    projects = sorted(path for path in args.folder.iterdir() if path.is_dir())
    if not projects:
        parser.error(f"{args.folder} holds no project folders")
    print_table([row(check_project(project, args.timeout), project) for project in projects])
    return 0


if __name__ == "__main__":
    sys.exit(main())
