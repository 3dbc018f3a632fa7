"""Synthetic benchmark inputs, made only from this repo's own fixtures (fixtures/*/input.py).

A big file is the single-file fixtures' models one after another, each copy with its module-level
names suffixed (`DualHeadRecurrentPPO` -> `DualHeadRecurrentPPO_3`) so that no copy shadows
another and every copy is a model of its own for the engine to migrate.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(ROOT.glob("fixtures/*/input.py"))
# The recurrent-PPO fixtures (~400 lines each): the models of the "one big file of models" row.
PPO_FIXTURES = [ROOT / "fixtures" / name / "input.py" for name in ("dual_head_ppo", "pep604_list_memory", "torch_nn_two_layers")]
FUTURE = "from __future__ import annotations\n"


def renamed_copy(path: Path, suffix: str) -> str:
    """The fixture's source with its module-level names suffixed, without its __future__ import."""
    text = path.read_text()
    tree = ast.parse(text)
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    text = text.replace(FUTURE, "")
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda match: match.group(1) + suffix, text)


def build_source(target_lines: int, fixtures: list = FIXTURES, start: int = 0) -> tuple:
    """(source of at least `target_lines` lines made of renamed fixture copies, number of copies).

    `start` offsets the copy numbers (and the fixture cycle), so files of one project differ."""
    parts, lines, copies = [FUTURE], 1, 0
    for number, path in enumerate(itertools.islice(itertools.cycle(fixtures), start, None), start):
        if copies and lines >= target_lines:
            break
        copy = renamed_copy(path, f"_{number}")
        parts.append("\n\n" + copy)
        lines += copy.count("\n") + 2
        copies += 1
    return "".join(parts), copies


def write_project(folder: Path, files: int, lines_per_file: int) -> int:
    """`files` files of about `lines_per_file` lines each under `folder`; their total line count."""
    folder.mkdir(parents=True, exist_ok=True)
    total, copy = 0, 0
    for number in range(files):
        source, copies = build_source(lines_per_file, start=copy)
        copy += copies
        (folder / f"model_{number:03d}.py").write_text(source)
        total += source.count("\n")
    return total
