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
_PROSE = re.compile(r"(?<![A-Za-z0-9_])(?:(a|A) )?(GRUCell|GRUs?|grucell|gru)(?![A-Za-z0-9_])")
_LSTM_WORD = re.compile(r"(?<![A-Za-z0-9_])lstm", re.IGNORECASE)


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
