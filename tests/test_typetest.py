"""One reader of a type test (syntax.type_test, and lstm_sources.type_tested for the output check):
the readers it replaced differed on `type(h) in (...)`, the negated comparisons and a class compared
with a tuple (`type(h) == (tuple, list)`, always false). Each case below was read wrong by one of
them: it migrates now and runs, or is refused with nothing written."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from gru2lstm.cli import main
from gru2lstm.lstm_sources import type_tested
from gru2lstm.syntax import code_of, type_test
from tests.test_redteam_packed import run_migrated, write
from tests.test_wrong_refusals37 import LANGUAGE_MODEL, TENSOR_TESTED
from tests.test_wrong_refusals37 import test_the_repackage_hidden_helper_migrates_unchanged_and_runs as migrates_unchanged_and_runs

# repackage_hidden spelled with a test that is true for the pair: its branches taken the other way round
SWAPPED = [
    "    if type(h) in (tuple, list):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
    "    if type(h) is not torch.Tensor:\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
    "    if type(h) != tuple:\n            return h.detach()\n        return tuple(repackage_hidden(v) for v in h)",
]


@pytest.mark.parametrize("helper", SWAPPED)
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_repackage_hidden_tested_by_in_or_a_negation_migrates_unchanged_and_runs(tmp_path, form, helper):
    # before: G2L100 "`type(h) in (tuple, list)` tests whether the hidden state `h` is a tuple or a list"
    # (tuple form) or G2L102 "`repackage_hidden(v)` receives `tuple(repackage_hidden(v) for v in h)`"
    migrates_unchanged_and_runs(tmp_path, form, helper)


NEGATED_OR_CALLED = [
    "    if not isinstance(h, tuple):\n            return h.detach()\n        return tuple(repackage_hidden(v) for v in h)",
    "    if not isinstance(h, torch.Tensor):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
    "    if not type(h) == tuple:\n            return h.detach()\n        else:\n            return tuple(repackage_hidden(v) for v in h)",
    # `torch.is_tensor(h)` is `isinstance(h, torch.Tensor)` written as a call
    "    if torch.is_tensor(h):\n            return h.detach()\n        return tuple(repackage_hidden(v) for v in h)",
    "    if not torch.is_tensor(h):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
]


@pytest.mark.parametrize("helper", NEGATED_OR_CALLED)
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_repackage_hidden_tested_by_not_or_is_tensor_migrates_unchanged_and_runs(tmp_path, form, helper):
    # before: G2L100 and G2L102 (tuple form), G2L102 (packed): `not` hid the type test from every reader,
    # and the helper's summary read no `torch.is_tensor`
    migrates_unchanged_and_runs(tmp_path, form, helper)


ALWAYS_FALSE = "    if type(h) == (tuple, list):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()"


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_repackage_hidden_tested_by_an_is_tensor_not_torchs_is_refused(tmp_path, capsys, form):
    # only torch's `is_tensor` is read as a type test; one of the project's own may answer anything
    helper = "    if is_tensor(h):\n            return h.detach()\n        return tuple(repackage_hidden(v) for v in h)"
    source = LANGUAGE_MODEL.replace("{helper}", helper).replace("import torch.nn as nn\n", "import torch.nn as nn\n    from checks import is_tensor\n", 1)
    write(tmp_path, {"main.py": source, "checks.py": "def is_tensor(x):\n    return True\n", "pyproject.toml": ""})
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert "G2L102" in capsys.readouterr().out
    assert (tmp_path / "main.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_repackage_hidden_that_compares_a_class_with_a_tuple_is_refused(tmp_path, capsys, form):
    # before, tuple form: exit 0, the helper read as `isinstance(h, (tuple, list))` and left as it was;
    # the test is false for the pair too, and the migrated program raised
    # AttributeError: 'tuple' object has no attribute 'detach'
    write(tmp_path, {"main.py": LANGUAGE_MODEL.replace("{helper}", ALWAYS_FALSE), "pyproject.toml": ""})
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "main.py:25:22: G2L102 `repackage_hidden(v)` receives `tuple(repackage_hidden(v) for v in h)` here" in out
    assert (tmp_path / "main.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_kept_where_its_class_is_compared_with_a_tuple_migrates_and_runs(tmp_path, form):
    # before, tuple form: G2L100 "`type(h) == (tuple, list)` tests whether the hidden state `h` is a
    # tuple or a list"; the test is false for a tensor and for the pair alike, so it is kept as it is
    detached = "h if type(h) == (tuple, list) else h.detach()"
    write(tmp_path, {"agent.py": TENSOR_TESTED.format(test="True", detached=detached), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; state = runpy.run_path('agent.py')['h']; "
                 "assert all(half.grad_fn is None for half in (state if isinstance(state, tuple) else [state]))")


@pytest.mark.parametrize("test, tested", [
    ("isinstance(h, (tuple, list))", "h"), ("type(h.x) is T", "h.x"), ("type(h) in [A, B]", "h"), ("type(h) != T", "h"),
    ("type(h) is not T", "h"), ("type(h) not in (A,)", "h"), ("type(h) == (A, B)", None), ("type(h) < T", None),
    ("type(h) is T is U", None), ("type(h, b, d) is T", None), ("isinstance(h)", None), ("isinstance(*a)", None),
    ("x.type(h) == T", None), ("not isinstance(h, T)", "h"), ("not type(h) is T", "h"), ("not h", None),
    ("issubclass(h, T)", None),
])
def test_the_output_check_reads_the_type_tests_the_engine_reads(test, tested):
    # lstm_sources (ast) passes over the returns on either side of a type test; reading fewer tests than
    # the engine, it took a `repackage_hidden` tested by `type(h) in (tuple, list)`, left as it was, for
    # one that gives one tensor (exit 123)
    found = type_test(cst.parse_expression(test))
    assert (code_of(found.tested) if found else None) == tested
    found = type_tested(ast.parse(test, mode="eval").body)
    assert (ast.unparse(found) if found is not None else None) == tested
