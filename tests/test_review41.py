"""Second review of session 41's relaxations (issue 13): probes that the relaxed refusals let
through and that migrate right. A return handed whole to a parameter unpacked in a loop body (A1,
bb8a545), and a module-level registry whose lookup is called inside a function (A2, ca3eaf4)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_returns_handed_whole import BUFFER, MODEL, TRAIN, UPDATE
from tests.test_review40 import IN_A_LIST


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_batch_unpacked_in_a_loop_body_of_the_function_it_is_handed_to_migrates(tmp_path, form):
    write(tmp_path, {
        "model.py": MODEL, "buffer.py": BUFFER, "pyproject.toml": "",
        "update.py": UPDATE.replace("UNPACK", "for _ in range(2):\n            obs, h0 = batch"),
        "train.py": TRAIN.replace("CALL", "print(update(model, opt, buf.batch()))"),
    })
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import train")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_registry_looked_up_inside_a_function_migrates(tmp_path, form):
    loop = "    for t in range(4):\n        y, h = steps[0](torch.randn(1, 3, 4), h)"
    inside = "    def run(h):\n        for t in range(4):\n            y, h = steps[0](torch.randn(1, 3, 4), h)\n        return y, h\n    y, h = run(h)"
    write(tmp_path, {"run.py": IN_A_LIST.replace(loop, inside), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")
