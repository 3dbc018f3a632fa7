"""Each rule's own examples (gru2lstm/rules/), run through the real engine: a valid example is
rewritten to its expected output, an invalid one is left alone with its finding."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from gru2lstm.rules import RULES
from gru2lstm.rules.catalogue import catalogue

HEADER = "import torch\nfrom torch import nn\n\n\n"
DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"

VALID = [(type(rule).__name__, number, example) for rule in RULES for number, example in enumerate(rule.valid)]
INVALID = [(type(rule).__name__, number, example) for rule in RULES for number, example in enumerate(rule.invalid)]


def run(example):
    return migrate_source(HEADER + textwrap.dedent(example.before), Options(state=example.state))


@pytest.mark.parametrize("rule, number, example", VALID, ids=[f"{r}-{n}" for r, n, _ in VALID])
def test_valid_example_is_rewritten_as_shown(rule, number, example):
    migration = run(example)
    assert [f.code for f in migration.findings if f.blocks_write] == []
    assert migration.source[len(HEADER):] == textwrap.dedent(example.after)


@pytest.mark.parametrize("rule, number, example", INVALID, ids=[f"{r}-{n}" for r, n, _ in INVALID])
def test_invalid_example_gives_its_finding_and_changes_nothing(rule, number, example):
    migration = run(example)
    assert example.code in [f.code for f in migration.findings]
    assert migration.source == HEADER + textwrap.dedent(example.before)


def test_every_rule_module_shows_what_it_does():
    modules = {type(rule).__module__ for rule in RULES}
    shown = {type(rule).__module__ for rule in RULES if rule.valid or rule.invalid}
    assert modules - shown == set()


def test_every_rule_says_what_it_handles():
    for rule in RULES:
        assert rule.uses and rule.summary, type(rule).__name__


def test_the_doc_lists_the_registry_and_its_examples():
    """docs/rules.md ends with the section the registry renders (regenerate:
    `python -m gru2lstm.rules.catalogue docs/rules.md`)."""
    assert DOC.read_text().endswith(catalogue())
