"""--format github (workflow annotations) and --format sarif (SARIF 2.1.0, checked against the
official schema).

tests/data/sarif-schema-2.1.0.json is the OASIS SARIF TC's schema, errata01, copied unchanged from
sarif-2.1/schema/sarif-schema-2.1.0.json of the TC's repository (github.com/oasis-tcs/sarif-spec),
the file its `id` names.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from gru2lstm.cli import main
from gru2lstm.findings import CODES, HELP, Finding
from gru2lstm.formats import github_annotations
from gru2lstm.results import FileResult, Migration

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

HEAD = (
    "import torch\nfrom torch import nn\n\n"
    "net = nn.GRU(2, 2)\nh = torch.zeros(1, 1, 2)\nout, h = net(torch.zeros(1, 1, 2), h)\n"
)
LEAK = HEAD + "send(h)\n"
SUPPRESSED = HEAD + "send(h)  # gru2lstm: ignore[G2L101]\n"
CLEAN = HEAD


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leak.py").write_text(LEAK)
    (tmp_path / "quiet.py").write_text(SUPPRESSED)
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "broken.py").write_text("import torch.nn as nn\nnet = nn.GRU(2,\n")
    return tmp_path


def _validate(document: dict) -> None:
    validator = jsonschema.validators.validator_for(SCHEMA)
    validator.check_schema(SCHEMA)
    validator(SCHEMA).validate(document)


def test_sarif_is_valid_against_the_official_schema(project, capsys):
    assert main(["rewrite", "--check", "--format", "sarif", "."]) == 123
    document = json.loads(capsys.readouterr().out)
    _validate(document)
    run = document["runs"][0]
    results = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"]): r for r in run["results"]}
    leak = results[("leak.py", "G2L101")]
    assert leak["level"] == "error" and "suppressions" not in leak
    assert leak["locations"][0]["physicalLocation"]["region"] == {"startLine": 7, "startColumn": 6}
    assert results[("quiet.py", "G2L101")]["suppressions"][0]["kind"] == "inSource"
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 123
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["message"]["text"].startswith("cannot parse")
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"


def test_sarif_rules_are_the_catalogue_of_codes(project, capsys):
    main(["rewrite", "--check", "--format", "sarif", "leak.py"])
    rules = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(CODES)
    assert all(rule["shortDescription"]["text"] == CODES[rule["id"]][1] for rule in rules)
    assert all(rule["help"]["text"] == HELP[rule["id"]] for rule in rules)
    assert set(HELP) == set(CODES)


def test_the_schema_check_rejects_a_log_that_breaks_it(project, capsys):
    main(["rewrite", "--check", "--format", "sarif", "leak.py"])
    document = json.loads(capsys.readouterr().out)
    _validate(document)
    document["runs"][0]["results"][0]["level"] = "fatal"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        _validate(document)


def test_github_annotations_for_findings_errors_and_check(project, capsys):
    assert main(["rewrite", "--check", "--format", "github", "."]) == 123
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "::error file=broken.py,line=2,col=13,title=gru2lstm::cannot parse: '(' was never closed" in lines
    assert any(line.startswith("::error file=leak.py,line=7,col=6,title=G2L101::the hidden state") for line in lines)
    assert "::error file=quiet.py,line=1,col=1,title=gru2lstm::would rewrite: run `gru2lstm rewrite` on it" in lines
    assert "::error file=clean.py,line=1,col=1,title=gru2lstm::would rewrite: run `gru2lstm rewrite` on it" in lines
    assert not any("quiet.py,line=7" in line for line in lines)  # suppressed: only with --verbose
    assert all(line.startswith("::") for line in lines)
    assert main(["rewrite", "--check", "--verbose", "--format", "github", "quiet.py"]) == 1
    assert "::notice file=quiet.py,line=7,col=6,title=G2L101 (suppressed)::" in capsys.readouterr().out


def test_github_annotations_escape_what_the_workflow_commands_reserve():
    finding = Finding(3, 4, "G2L100", "100% of\r\nthe state: a, b")
    result = FileResult("dir,one/we:ird%.py", "needs_attention", migration=Migration("", False, findings=[finding]))
    [line] = github_annotations([result], lambda findings: findings, check=False)
    assert line == "::error file=dir%2Cone/we%3Aird%25.py,line=3,col=4,title=G2L100::100%25 of%0D%0Athe state: a, b"
