"""Golden fixtures: the engine's output is byte-exact, parses, is stable, and touches only what it reports."""

from __future__ import annotations

import difflib

import pytest

from conftest import golden_pairs
from gru2lstm.migrate import migrate_source

PAIRS = [pytest.param(folder, id=folder.name) for folder in golden_pairs()]


def test_the_corpus_is_there():
    names = {folder.name for folder in golden_pairs()}
    assert {"dual_head_ppo", "rnn_alias_buffer", "torch_nn_two_layers", "pep604_list_memory"} <= names


def read(path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


@pytest.mark.parametrize("folder", PAIRS)
def test_output_is_byte_exact(folder):
    migration = migrate_source(read(folder / "input.py"))
    assert [f for f in migration.findings if f.blocks_write] == []
    assert migration.source == read(folder / "expected.py")


@pytest.mark.parametrize("folder", PAIRS)
def test_output_parses_and_second_run_changes_nothing(folder):
    first = migrate_source(read(folder / "input.py"))
    compile(first.source, str(folder / "expected.py"), "exec")
    second = migrate_source(first.source)
    assert not second.changed
    assert second.source == first.source


@pytest.mark.parametrize("folder", PAIRS)
def test_every_line_outside_the_reported_steps_is_unchanged(folder):
    source = read(folder / "input.py")
    migration = migrate_source(source)
    reported = {line for step in migration.steps for line in step.lines}
    before = source.splitlines()
    after = migration.source.splitlines()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    unreported = [
        (line + 1, before[line])
        for tag, start, end, _, _ in matcher.get_opcodes()
        if tag in ("replace", "delete")
        for line in range(start, end)
        if line + 1 not in reported
    ]
    assert unreported == []
