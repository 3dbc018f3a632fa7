"""What a user can choose about a migration."""

from __future__ import annotations

from dataclasses import dataclass

STATE_FORMS = ("auto", "tuple", "packed")


@dataclass(frozen=True)
class Options:
    keep_names: bool = False  # keep `self.gru` etc. instead of renaming to `self.lstm`
    allow_partial: bool = False  # write what is safe and mark the rest `# gru2lstm: manual`
    state: str = "auto"  # how (h, c) is held: see STATE_FORMS
