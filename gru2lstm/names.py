"""Names the migration writes: the cell-state partner of a name, gru -> lstm, and GRU words in prose."""

from __future__ import annotations

import re
from typing import Optional

from gru2lstm.vocab import LSTM_NAME_WORDS, LSTM_PROSE_WORDS, PARTNER_WORDS


def partner_name(name: str) -> str:
    """The name that holds `c` beside a name that holds `h` (docs/rules.md, "partner name")."""
    words = name.split("_")
    for index, word in enumerate(words):
        if word in PARTNER_WORDS:
            words[index] = PARTNER_WORDS[word]
            return "_".join(words)
    return f"{name}_c"


def lstm_name(name: str) -> Optional[str]:
    """`gru` -> `lstm` in a name whose `_`-word is gru (any case); None when there is none."""
    words = name.split("_")
    replaced = False
    for index, word in enumerate(words):
        if word.lower() == "gru":
            words[index] = LSTM_NAME_WORDS.get(word, "Lstm")
            replaced = True
    return "_".join(words) if replaced else None


# Word edges by ASCII only: `使用GRU网络` has a GRU too (CJK letters are \w for `\b`).
_PROSE = re.compile(
    r"(?<![A-Za-z0-9_])(?:(a|A) )?(" + "|".join(sorted(LSTM_PROSE_WORDS, key=len, reverse=True)) + r")(?![A-Za-z0-9_])"
)
_LSTM_WORD = re.compile(r"(?<![A-Za-z0-9_])" + LSTM_NAME_WORDS["gru"], re.IGNORECASE)


def lstm_prose(text: str) -> str:
    """GRU words in a comment or docstring, as the LSTM version says them ("a GRU" -> "an LSTM").
    A line that names an LSTM too contrasts the two ("swap the GRU for an LSTM") and stays."""

    def replace(match: re.Match) -> str:
        word = LSTM_PROSE_WORDS[match.group(2)]
        article = match.group(1)
        if article is None:
            return word
        return f"{article}n {word}" if word[0] in "LlA" else f"{article} {word}"

    return "".join(line if _LSTM_WORD.search(line) else _PROSE.sub(replace, line) for line in text.splitlines(True))


# A three-dimensional shape written out, `(1, B, H)`, `(num_layers, batch, hidden)`, `[L, N, H]`,
# with the words that may lead it ("a tensor of shape ").
_DIM = r"\s*[\w*+\-]+(?: [\w*+\-]+)*\s*"
_SHAPE = re.compile(
    rf"(?P<lead>(?:an? )?(?:[Tt]ensor )?(?:of )?(?:shape |size ))?(?P<shape>\({_DIM},{_DIM},{_DIM}\)|\[{_DIM},{_DIM},{_DIM}\])"
)
_PAIRED = re.compile(r"\(h, c\), each[^()\[\]]*$")  # the shape is a half's already


def pair_shapes(text: str, names: frozenset) -> str:
    """A docstring's shapes of the hidden state, as the pair (h, c) says them: the first
    three-dimensional shape after a word in `names` on its line (or, on the more indented lines of
    an entry that starts with the word, `hidden (Tensor):`, the first one of the line) `(1, B, H)`
    becomes `(h, c), each (1, B, H)`. Other shapes stay."""
    words = re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(map(re.escape, sorted(names))) + r")(?![A-Za-z0-9_])")
    lines, entry_indent = [], None  # the indent of the entry that names the state, while under it
    for line in text.splitlines(True):
        indent = len(line) - len(line.lstrip())
        if line.strip() and entry_indent is not None and indent <= entry_indent:
            entry_indent = None
        named = [m.end() for m in words.finditer(line)] if names else []
        if named:
            entry_indent = indent if words.match(line.lstrip(" `*")) else None
            lines.append(_pair_first_shape(line, named[-1]))
        else:
            lines.append(_pair_first_shape(line, 0) if entry_indent is not None else line)
    return "".join(lines)


def _pair_first_shape(line: str, start: int) -> str:
    match = _SHAPE.search(line, start)
    if match is None or _PAIRED.search(line[: match.start()]):
        return line
    lead = re.sub(r"^an? ", "", match.group("lead") or "")
    lead = ("a " if lead.lower().startswith("tensor") else "of " if lead in ("shape ", "size ") else "") + lead
    return f"{line[: match.start()]}(h, c), each {lead}{match.group('shape')}{line[match.end():]}"
