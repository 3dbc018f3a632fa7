"""What a verification says: named checks with PASS/FAIL and a reason, and the exit code. Torch-free."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Optional, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# The named checks, in the order they run and are shown.
CHECKS: dict[str, str] = {
    "interface": "same public methods and signatures; valid actions; finite loss; state-carrying methods return (h, c); resets clear (h, c)",
    "shapes": "the state is (h, c) (or packed) everywhere it lives, each (layers*dirs, batch, hidden)",
    "replay": "training replays each sample from the (h, c) it was acted with",
    "equivalence": "with twin recurrent cores, actions, losses and updates equal the original's",
    "memory": "learns a cue-recall task as well as the original over 3 seeds; a mid-episode reset takes it back to chance",
}
DEFAULT_CHECKS = ("interface", "shapes", "replay", "equivalence")


@dataclass
class CheckResult:
    name: str
    passed: bool
    reason: str
    details: list = field(default_factory=list)  # short lines backing the reason
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)  # numbers behind the verdict (e.g. the memory check's recall)

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"


@dataclass
class VerifyReport:
    rewritten: str
    original: str  # a path, or "git HEAD:<path>", or "<text>" when given as text
    class_name: Optional[str] = None
    interface: Optional[str] = None  # "iqn" or "driver module:function"
    checks: list = field(default_factory=list)
    usage_error: Optional[str] = None  # set when the configuration cannot be used (exit 2)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.usage_error is None and all(c.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        if self.usage_error is not None:
            return EXIT_USAGE
        return EXIT_OK if self.passed else EXIT_FAILED

    def check(self, name: str) -> Optional[CheckResult]:
        for result in self.checks:
            if result.name == name:
                return result
        return None

    @property
    def failed_checks(self) -> list:
        return [c.name for c in self.checks if not c.passed]

    def summary(self) -> str:
        """One line for `rewrite --verify`: why it failed, or that it passed."""
        if self.usage_error is not None:
            return f"verify: {self.usage_error}"
        if self.passed:
            return f"verify: {len(self.checks)} checks passed"
        failed = [c for c in self.checks if not c.passed]
        return "verify: " + "; ".join(f"{c.name} FAILED: {c.reason}" for c in failed)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        data["exit_code"] = self.exit_code
        for check, record in zip(self.checks, data["checks"]):
            record["status"] = check.status
        return data

    # ------------------------------------------------------------------ output
    def render_json(self, out: Optional[TextIO] = None) -> None:
        out = out or sys.stdout
        out.write(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    def render_text(self, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        out = out or sys.stdout
        err = err or sys.stderr
        for warning in self.warnings:
            print(f"gru2lstm verify: warning: {warning}", file=err)
        if self.usage_error is not None:
            print(f"gru2lstm verify: error: {self.usage_error}", file=err)
            return
        console = Console(file=out, highlight=False, soft_wrap=False, width=max(100, Console(file=out).width))
        title = f"gru2lstm verify {self.rewritten}"
        if self.class_name:
            title += f" ({self.class_name}"
            title += f", {self.interface})" if self.interface else ")"
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("check", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("reason", overflow="fold")
        table.add_column("s", justify="right", no_wrap=True)
        for check in self.checks:
            style = "green" if check.passed else "bold red"
            reason = check.reason
            if check.details:
                reason += "\n" + "\n".join(f"  {line}" for line in check.details[:8])
                if len(check.details) > 8:
                    reason += f"\n  ... {len(check.details) - 8} more"
            # plain text: reasons quote tensors and lists ("[nan, nan]") that rich would read as markup
            table.add_row(check.name, Text(check.status, style=style), Text(reason), f"{check.seconds:.1f}")
        console.print(table)
        verdict = "all checks passed" if self.passed else f"{len(self.failed_checks)} check(s) failed: {', '.join(self.failed_checks)}"
        console.print(Text(f"{verdict} against {self.original} in {self.seconds:.1f}s"))
