"""gitignore.py matches a .gitignore of name patterns itself: the same answers as pathspec's
GitIgnoreSpec, on every path of a grid; any other line hands the whole file to pathspec."""

from __future__ import annotations

import itertools

import pytest
from pathspec import GitIgnoreSpec

from gru2lstm.gitignore import NamePatterns, read_gitignore

NAME_LINES = [
    "build/", "/build", "/build/", "build", "*.egg-info/", "*.py", "__pycache__/", "/secret.py",
    "a?c", "*", "*/", "my file.txt", ".cache/", "*.log", "x*y/",
]
PATHS = [
    "build", "build/", "build/x.py", "src/build/x.py", "src/build/", "src/build", "secret.py",
    "pkg/secret.py", "abc", "abc/", "d/abc", "pkg.egg-info/", "pkg.egg-info/PKG-INFO", "mod.py",
    "a.py/", "a.py/inner.txt", "pkg/__pycache__/m.pyc", "my file.txt", "x/my file.txt",
    ".cache/", "src/.cache/f", "run.log", "logs/run.log/", "xzy/f", "xy", "x/y",
]


@pytest.mark.parametrize("line", NAME_LINES)
def test_a_name_pattern_matches_every_path_as_pathspec_does(line):
    ours = read_gitignore([line])
    assert isinstance(ours, NamePatterns)
    theirs = GitIgnoreSpec.from_lines([line])
    assert [path for path in PATHS if ours.match_file(path)] == [path for path in PATHS if theirs.match_file(path)]


def test_a_file_of_several_name_patterns_with_comments_and_blank_lines(tmp_path):
    lines = ["# caches", "", "__pycache__/", "/dist", "*.egg-info/"]
    ours, theirs = read_gitignore(lines), GitIgnoreSpec.from_lines(lines)
    assert isinstance(ours, NamePatterns)
    for path in PATHS + ["dist/", "dist/a.whl", "sub/dist/a.whl"]:
        assert ours.match_file(path) == theirs.match_file(path), path


@pytest.mark.parametrize("line", ["!keep.py", "docs/build/", "**/tmp", "a/**", "[ab].py", r"\#hash", "trail ", " lead", "/"])
def test_any_other_line_hands_the_whole_file_to_pathspec(line):
    # a negation needs the order of the lines, an inner `/` anchors a path: pathspec's work
    assert isinstance(read_gitignore(["build/", line]), GitIgnoreSpec)


def test_pathspec_still_reports_a_bad_pattern():
    with pytest.raises(ValueError):
        read_gitignore(["!"])


def test_every_pair_of_name_patterns_agrees_with_pathspec():
    for pair in itertools.combinations(NAME_LINES, 2):
        ours, theirs = read_gitignore(list(pair)), GitIgnoreSpec.from_lines(list(pair))
        assert [p for p in PATHS if ours.match_file(p)] == [p for p in PATHS if theirs.match_file(p)], pair
