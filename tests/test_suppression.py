"""`# gru2lstm: ignore[...]` silences a finding on its statement; `# gru2lstm: manual` keeps a file
needing a person until it is removed."""

from __future__ import annotations

import json

import pytest

from gru2lstm.cli import main
from gru2lstm.suppression import read_comments

HEAD = (
    "import torch\nfrom torch import nn\n\n"
    "net = nn.GRU(2, 2)\nh = torch.zeros(1, 1, 2)\nout, h = net(torch.zeros(1, 1, 2), h)\n"
)
LEAK = HEAD + "send(h)\n"  # line 7: G2L101, the state goes where the engine cannot follow


def _file(tmp_path, source: str):
    path = tmp_path / "leak.py"
    path.write_text(source)
    return path


@pytest.mark.parametrize("comment", [
    "# gru2lstm: ignore[G2L101]",
    "# gru2lstm: ignore",
    "# gru2lstm: ignore[G2L104, G2L101]",
    "#gru2lstm:ignore[g2l101]",
])
def test_an_ignore_comment_lets_the_rest_of_the_file_be_written_and_leaves_the_use_as_it_is(tmp_path, capsys, comment):
    path = _file(tmp_path, LEAK.replace("send(h)\n", f"send(h)  {comment}\n"))
    assert main(["rewrite", str(path)]) == 0
    written = path.read_text()
    assert "net = nn.LSTM(2, 2)" in written
    assert written.endswith(f"\nsend(h)  {comment}\n")  # left exactly as it was: no pair, no marker
    captured = capsys.readouterr()
    assert "G2L101" not in captured.out + captured.err  # silenced: not shown without --verbose
    assert "0 lines need attention (0 findings), 1 suppressed line left as written" in " ".join(captured.err.split())


def test_an_ignore_comment_for_another_code_silences_nothing(tmp_path, capsys):
    source = LEAK.replace("send(h)\n", "send(h)  # gru2lstm: ignore[G2L104]\n")
    path = _file(tmp_path, source)
    assert main(["rewrite", str(path)]) == 1
    assert path.read_text() == source
    assert f"{path}:7:6: G2L101 " in capsys.readouterr().out


def test_an_ignore_comment_covers_every_line_of_its_statement(tmp_path):
    path = _file(tmp_path, LEAK.replace("send(h)\n", "send(\n    h,\n)  # gru2lstm: ignore[G2L101]\n"))
    assert main(["rewrite", "--quiet", str(path)]) == 0
    assert path.read_text().endswith("send(\n    h,\n)  # gru2lstm: ignore[G2L101]\n")


def test_an_ignore_comment_on_a_line_of_its_own_covers_only_that_line(tmp_path):
    source = LEAK.replace("send(h)\n", "# gru2lstm: ignore\nsend(h)\n")
    path = _file(tmp_path, source)
    assert main(["rewrite", "--quiet", str(path)]) == 1
    assert path.read_text() == source


def test_verbose_and_json_report_suppressed_findings(tmp_path, capsys):
    path = _file(tmp_path, LEAK.replace("send(h)\n", "send(h)  # gru2lstm: ignore[G2L101]\n"))
    assert main(["rewrite", "--check", "--verbose", str(path)]) == 1  # would rewrite
    captured = capsys.readouterr()
    assert f"{path}:7:6: G2L101 " in captured.out and captured.out.rstrip().endswith("(suppressed)")
    assert main(["rewrite", "--check", "--format", "json", str(path)]) == 1
    record = json.loads(capsys.readouterr().out)["files"][0]
    assert record["status"] == "changed"
    assert [(f["code"], f["suppressed"]) for f in record["findings"]] == [("G2L101", True)]
    assert record["sites"]["attention"] == 0 and record["sites"]["suppressed"] == 1


def test_allow_partial_marks_only_what_is_not_suppressed(tmp_path):
    source = LEAK + "out, h = net(torch.zeros(1, 1, 2), h)\nsend(h)  # gru2lstm: ignore[G2L101]\n"
    path = _file(tmp_path, source)
    assert main(["rewrite", "--quiet", "--allow-partial", str(path)]) == 1
    lines = path.read_text().splitlines()
    assert lines[-3] == "send(h)  # gru2lstm: manual (G2L101)"
    assert lines[-1] == "send(h)  # gru2lstm: ignore[G2L101]"


def test_a_manual_marker_keeps_the_file_needing_a_person_until_it_is_removed(tmp_path, capsys):
    path = _file(tmp_path, LEAK)
    assert main(["rewrite", "--quiet", "--allow-partial", str(path)]) == 1
    marked = path.read_text()
    assert "send(h)  # gru2lstm: manual (G2L101)" in marked and "nn.GRU" not in marked
    capsys.readouterr()
    assert main(["rewrite", "--check", str(path)]) == 1
    captured = capsys.readouterr()
    assert f"{path}:10:10: G2L106 " in captured.out
    assert "1 file needs attention." in captured.err
    assert main(["rewrite", str(path)]) == 1 and path.read_text() == marked  # nothing to write, still flagged
    path.write_text(marked.replace("send(h)  # gru2lstm: manual (G2L101)", "send(h[0])"))  # done by hand
    assert main(["rewrite", "--check", str(path)]) == 0


def test_a_marker_can_itself_be_silenced(tmp_path):
    path = _file(tmp_path, "x = 1  # gru2lstm: manual (G2L101)  # gru2lstm: ignore[G2L106]\n")
    assert main(["rewrite", "--check", str(path)]) == 0


def test_comments_are_read_from_tokens_not_from_strings():
    comments = read_comments(
        's = "# gru2lstm: ignore"\n'
        "x = f(a,\n      b)  # gru2lstm: ignore[G2L101, g2l104]\n"
        "y = 2  # gru2lstm: manual (G2L102)\n"
    )
    assert 1 not in comments.ignored
    assert comments.ignored[2] == comments.ignored[3] == {"G2L101", "G2L104"}
    assert comments.ignores(2, "G2L104") and not comments.ignores(2, "G2L102")
    assert comments.markers == [(4, 8, "G2L102")]
