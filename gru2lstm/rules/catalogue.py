"""The registry written out as the last section of docs/rules.md ("The rules, in order"): each
rule's module, step, uses and examples. `python -m gru2lstm.rules.catalogue docs/rules.md`
rewrites that section; a test checks the doc matches."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from gru2lstm.rules import PACKED_RULES, RULES, TUPLE_RULES

TITLE = "## The rules, in order"


def _code(source: str) -> list:
    return ["```python", *textwrap.dedent(source).strip("\n").splitlines(), "```"]


def _examples(rule) -> list:
    lines = []
    for example in rule.valid:
        form = "" if example.state == "auto" else f" (`--state {example.state}`)"
        lines += ["", f"Valid{form}:", "", *_code(example.before), "", "becomes", "", *_code(example.after)]
    for example in rule.invalid:
        lines += ["", f"Invalid: `{example.code}`", "", *_code(example.before)]
    return lines


def catalogue() -> str:
    """The generated section, from its title to the end of the file."""
    lines = [
        TITLE,
        "",
        "Generated from the registry (`gru2lstm/rules/__init__.py`) by `python -m gru2lstm.rules.catalogue docs/rules.md`.",
        "A binding, a call or a consumption goes to the first rule of its form's list that handles it; the",
        "program-wide rules run in this order. Examples are run by `tests/test_rule_examples.py` after",
        "`import torch` / `from torch import nn`.",
        "",
        "| rule | module | step | uses | tuple | packed | what it does |",
        "|---|---|---|---|---|---|---|",
    ]
    tuple_order = {type(rule): n for n, rule in enumerate(TUPLE_RULES, 1)}
    packed_order = {type(rule): n for n, rule in enumerate(PACKED_RULES, 1)}
    for rule in RULES:
        kind = type(rule)
        module = kind.__module__.rpartition(".")[2]
        lines.append(
            f"| {kind.__name__} | {module} | {rule.step or '–'} | {', '.join(rule.uses)} | "
            f"{tuple_order.get(kind, '–')} | {packed_order.get(kind, '–')} | {rule.summary} |"
        )
    for rule in RULES:
        if rule.valid or rule.invalid:
            lines += ["", f"### {type(rule).__name__}", "", rule.summary[0].upper() + rule.summary[1:] + ".", *_examples(rule)]
    return "\n".join(lines) + "\n"


def rewrite(path: Path) -> None:
    text = path.read_text()
    head = text.split(TITLE, 1)[0].rstrip("\n")
    path.write_text(head + "\n\n" + catalogue())


if __name__ == "__main__":
    rewrite(Path(sys.argv[1]))
