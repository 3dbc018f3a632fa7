"""Every kind of finding message reads as a sentence: it names the expression, says why, and ends
with what the user can do; the finding names the line (issue 13, point 4)."""

from __future__ import annotations

import re
import textwrap

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from gru2lstm.rules import RULES
from test_rules import FINDINGS, HEADER

# Small inputs for the kinds that the rule tables' invalid examples do not reach.
MORE = {
    "a holder updated in place": """
        core = nn.GRU(4, 8)
        h = torch.zeros(1, 1, 8)
        out, h = core(torch.randn(1, 1, 4), h)
        hidden = [h] * 2
        hidden += [out]
        """,
    "a state used inside a lambda": """
        core = nn.GRU(4, 8)
        h = torch.zeros(1, 1, 8)
        out, h = core(torch.randn(1, 1, 4), h)
        f = lambda: h + 1
        """,
    "a state tested for truth": """
        core = nn.GRU(4, 8)
        h = torch.zeros(1, 1, 8)
        out, h = core(torch.randn(1, 1, 4), h)
        if h:
            pass
        """,
    "the module handed over": """
        import pickle
        core = nn.GRU(4, 8)
        pickle.dumps(core)
        h = torch.zeros(1, 1, 8)
        out, h = core(torch.randn(1, 1, 4), h)
        """,
    "a holder handed over": """
        import json
        core = nn.GRU(4, 8)
        h = torch.zeros(1, 1, 8)
        out, h = core(torch.randn(1, 1, 4), h)
        store = {"h": h}
        json.dumps(store)
        """,
    "a state that cannot be split": """
        core = nn.GRU(4, 8)
        hs = [torch.zeros(1, 1, 8)]
        out, h = core(torch.randn(1, 1, 4), hs.pop().detach())
        """,
}

SOURCES = {
    **{name: code for name, (code, _) in FINDINGS.items()},
    **{f"{type(rule).__name__}-{n}": example.before for rule in RULES for n, example in enumerate(rule.invalid)},
    **MORE,
}
# The first word of the last clause: what the user can do.
REMEDIES = {"assign", "carry", "choose", "give", "keep", "migrate", "pass", "rename", "resolve", "unpack", "use", "add", "split", "compute", "write"}
# Findings about a whole file, or said for the record only.
NO_EXPRESSION = {"G2L105", "G2L200", "G2L201"}


def sentence_problems(message: str) -> list:
    problems = []
    if re.search(r"\bis `[^`]*` \w+s\b", message):
        problems.append("`is <code> <verb>`: two verbs")
    if re.search(r"\bis (it|is)\b", message) or "`a hidden state`" in message:
        problems.append("broken grammar")
    if message[0].isupper() or message.endswith("."):
        problems.append("not in the house form (lower case, no final period)")
    if "`" not in message:
        problems.append("names no expression")
    quoted = re.findall(r"`([^`]+)` holds .* returned by `([^`]+)`", message)
    if quoted and quoted[0][0] == quoted[0][1]:
        problems.append("names the same expression twice")
    last = re.split(r"; |: ", message)[-1].split(" ")[0]
    if last not in REMEDIES:
        problems.append(f"no last clause saying what to do (ends with {last!r}…)")
    return problems


def _findings(code: str):
    for state in ("tuple", "packed"):
        yield from migrate_source(HEADER + textwrap.dedent(code), Options(state=state)).findings


@pytest.mark.parametrize("name", list(SOURCES))
def test_each_finding_reads_as_a_sentence_that_names_the_line(name):
    found = [f for f in _findings(SOURCES[name]) if f.code not in NO_EXPRESSION]
    for finding in found:
        assert finding.line > len(HEADER.splitlines()), finding
        assert not sentence_problems(finding.message), (finding.message, sentence_problems(finding.message))


def test_the_checker_refuses_the_broken_forms_once_seen():
    assert sentence_problems("`hidden` holds hidden states and is `hidden += [x]` updates it in place; the engine cannot follow it")
    assert sentence_problems("`a hidden state` holds the hidden state returned by `f()`")
    assert sentence_problems("`x.cuda()` holds the hidden state returned by `x.cuda()`, which the engine cannot follow; give it")


def test_a_holder_updated_in_place_names_the_update():
    (finding,) = {f.message for f in _findings(MORE["a holder updated in place"])}
    assert "is updated in place by `hidden += [out]`" in finding
