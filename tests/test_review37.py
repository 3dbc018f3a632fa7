"""Second review of session 37's wrongref3 (issue 13): programs close to the idioms it migrated,
which must not exit 0 with a migrated program that breaks."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import write
from tests.test_wrong_refusals37 import LANGUAGE_MODEL

# repackage_hidden testing for a list: (h, c) is a tuple, so it would take the tensor's branch
LIST_TESTED = [
    "    if isinstance(h, list):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
    "    if type(h) == list:\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
]


@pytest.mark.parametrize("helper", LIST_TESTED)
def test_a_repackage_hidden_that_tests_for_a_list_is_refused_in_the_tuple_form(tmp_path, capsys, helper):
    # before: exit 0, the helper left as it was; the migrated program raised
    # AttributeError: 'tuple' object has no attribute 'detach'
    write(tmp_path, {"main.py": LANGUAGE_MODEL.replace("{helper}", helper), "pyproject.toml": ""})
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    test = helper.split(":")[0].strip().removeprefix("if ")
    assert f"main.py:24:8: G2L100 `{test}` tests whether the hidden state `h` is a list" in capsys.readouterr().out
    assert (tmp_path / "main.py").read_text() == before

