"""Golden fixtures: the engine's output is byte-exact, parses, is stable, and touches only what it reports.

A pair is fixtures/<style>/input.py + expected.py; a tree is fixtures/<style>/input/ + expected/,
files that share hidden states, migrated together by the engine as a folder is.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from conftest import golden_pairs, golden_trees, tree_files
from gru2lstm.engine import RunOptions, run
from gru2lstm.migrate import migrate_source

PAIRS = [pytest.param(folder, id=folder.name) for folder in golden_pairs()]
TREES = [pytest.param(folder, id=folder.name) for folder in golden_trees()]


def test_the_corpus_is_there():
    names = {folder.name for folder in golden_pairs()}
    assert {"dual_head_ppo", "rnn_alias_buffer", "torch_nn_two_layers", "pep604_list_memory"} <= names
    assert {"cross_file_package", "cross_file_scripts", "cross_file_functions"} <= {f.name for f in golden_trees()}


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
    assert unreported(source, migration.source, reported) == []


def unreported(source: str, migrated: str, reported: set) -> list:
    """(line, text) of every original line that changed but that no step reported."""
    before = source.splitlines()
    matcher = difflib.SequenceMatcher(a=before, b=migrated.splitlines(), autojunk=False)
    return [
        (line + 1, before[line])
        for tag, start, end, _, _ in matcher.get_opcodes()
        if tag in ("replace", "delete")
        for line in range(start, end)
        if line + 1 not in reported
    ]


def migrate_tree(folder) -> dict:
    """{relative path: (text before, FileResult)} for the engine run over a folder, writing nothing."""
    results = run([str(folder)], RunOptions(write=False), jobs=1)
    return {
        Path(result.path).relative_to(folder): (read(result.path), result)
        for result in results
    }


def after(before: str, result) -> str:
    return result.migration.source if result.migration is not None else before


@pytest.mark.parametrize("folder", TREES)
def test_tree_output_is_byte_exact(folder):
    migrated = migrate_tree(folder / "input")
    assert sorted(migrated) == tree_files(folder)
    for name, (before, result) in migrated.items():
        assert result.status in ("changed", "unchanged"), (name, result.status, result.error, result.migration)
        assert after(before, result) == read(folder / "expected" / name), name
    assert sum(result.status == "changed" for _, result in migrated.values()) >= 2


@pytest.mark.parametrize("folder", TREES)
def test_tree_second_run_changes_nothing(folder):
    for name, (_, result) in migrate_tree(folder / "expected").items():
        assert result.status == "unchanged", (name, result.status, result.migration and result.migration.findings)


@pytest.mark.parametrize("folder", TREES)
def test_tree_every_line_outside_the_reported_steps_is_unchanged(folder):
    for name, (before, result) in migrate_tree(folder / "input").items():
        if result.status == "unchanged":
            continue
        reported = {line for step in result.migration.steps for line in step.lines}
        assert unreported(before, after(before, result), reported) == [], name
