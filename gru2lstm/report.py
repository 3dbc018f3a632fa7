"""What a run says, and the exit code it ends with: one Report owns both (as in black).

Streams: stdout carries what tools read — diffs (``--diff``), the JSON document
(``--format json``), GitHub annotations or the SARIF log (``--format github|sarif``, formats.py),
and findings as ``path:line:col: CODE message`` (on stderr instead when
stdout holds a diff). stderr carries what people read: "would rewrite X" / "rewrote X", errors
as ``path:line:col: message``, the rich per-file step table and the totals.

Exit policy (black's, plus "needs a person"):
  0   nothing to do, or done;
  1   ``--check`` found a file to rewrite, or any file needs a person (a blocking finding);
  2   usage error (argparse, a path that does not exist);
  123 internal error, or a file that cannot be read or parsed.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field
from typing import Optional, TextIO

from gru2lstm import __version__
from gru2lstm.findings import ERROR, INFO
from gru2lstm.results import KEPT_STEPS, STEPS, FileResult

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "EXIT_WORK", "Report", "record"]

EXIT_OK = 0
EXIT_WORK = 1  # --check found work, or a file needs a person
EXIT_USAGE = 2
EXIT_INTERNAL = 123  # a crash, an unreadable or unparsable file

STATUSES = ("changed", "unchanged", "needs_attention", "error")
MARKER_CODE = "G2L106"  # a `# gru2lstm: manual` marker: shown on a row of its own
MARKED = "marked"


@dataclass
class Report:
    results: list
    check: bool = False  # --check: finding work is a failure
    dry_run: bool = False  # --check or --diff: nothing is written
    verbose: bool = False
    quiet: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    # ------------------------------------------------------------------------- policy
    def counts(self) -> dict:
        counts = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    def exit_code(self) -> int:
        counts = self.counts()
        if counts["error"]:
            return EXIT_INTERNAL
        if counts["needs_attention"]:
            return EXIT_WORK
        if self.check and counts["changed"]:
            return EXIT_WORK
        return EXIT_OK

    # ------------------------------------------------------------------------- text
    def render_text(self, diff: bool = False) -> None:
        finding_stream = self.err if diff else self.out
        for result in self.results:
            if result.status == "error":
                error = result.error
                print(f"{result.path}:{error.line}:{error.column}: {error.message}", file=self.err)
            migration = result.migration
            if migration is not None:
                for finding in self.shown(migration.findings):
                    said = " (suppressed)" if finding.suppressed else ""
                    print(f"{result.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}{said}",
                          file=finding_stream)
            if diff and result.diff:
                self.out.write(result.diff)
            line = self._verdict(result)
            if line and not self.quiet:
                print(line, file=self.err)
            if result.verification is not None:
                print(f"{result.path}: {result.verification}", file=self.err)
            if self._wants_table(result):
                self._step_table(result)
        if not self.quiet:
            print(self.summary(), file=self.err)
        for stream in (self.out, self.err):
            stream.flush()

    def shown(self, findings: list) -> list:
        """The findings a text or CI report shows: info and suppressed ones only with --verbose."""
        return [f for f in findings if self.verbose or not (f.severity == INFO or f.suppressed)]

    def _verdict(self, result: FileResult) -> Optional[str]:
        migration = result.migration
        if result.status == "error":
            return None
        if result.written:
            return f"rewrote {result.path}" + (" (partially: see the findings)" if result.status == "needs_attention" else "")
        if result.status == "changed":
            return f"would rewrite {result.path}"
        if result.status == "needs_attention":
            if migration is not None and migration.changed:  # --allow-partial with --check/--diff
                return f"would rewrite {result.path} (partially: see the findings)"
            return f"cannot rewrite {result.path}: a use of the hidden state needs a person (nothing written)"
        if self.verbose:
            why = "no torch.nn GRU" if migration is None else "nothing to migrate"
            return f"{result.path} unchanged ({why})"
        return None

    def _wants_table(self, result: FileResult) -> bool:
        migration = result.migration
        if self.quiet or migration is None or result.status == "error":
            return False
        return migration.changed or migration.blocked or (self.verbose and bool(migration.steps or migration.findings))

    def _step_table(self, result: FileResult) -> None:
        from rich import box
        from rich.console import Console
        from rich.table import Table

        migration = result.migration
        applied = {record.step: record.lines for record in migration.steps}
        attention: dict = {}  # MARKED or None (a use the engine does not understand) -> lines
        for finding in migration.findings:
            if finding.blocks_write:
                attention.setdefault(MARKED if finding.code == MARKER_CODE else None, set()).add(finding.line)
        if result.written:
            done = "applied"
        elif migration.changed:
            done = "would apply"  # --check / --diff
        else:
            done = "planned"  # a person is needed first: nothing was applied
        encoding = (getattr(self.err, "encoding", None) or "utf-8").lower().replace("_", "-")
        table = Table(
            title=self._table_title(result), title_justify="left", show_edge=False, pad_edge=False,
            box=box.HEAVY_HEAD if encoding.startswith("utf") else box.ASCII2,
        )
        table.add_column("step")
        table.add_column("result")
        # Steps and findings are placed in the file as it was read; after a write, say so.
        table.add_column("lines (before the rewrite)" if result.written else "lines", overflow="fold")
        for step, title in STEPS.items():
            if applied.get(step):
                status = "kept" if step in KEPT_STEPS else done
                style = "[cyan]" if step in KEPT_STEPS else "[green]" if done == "applied" else "[yellow]"
                table.add_row(title, f"{style}{status}[/]", _lines(applied[step]))
            elif step in KEPT_STEPS:
                table.add_row(title, "[dim]none found[/]", "")  # nothing of that kind to check and keep
            else:
                table.add_row(title, "[dim]not needed[/]", "")
        for step, title in ((None, "uses the engine does not understand"), (MARKED, "lines marked '# gru2lstm: manual'")):
            if step in attention:
                table.add_row(title, "[bold red]needs attention[/]", _lines(attention[step]))
        blocking = sum(1 for f in migration.findings if f.blocks_write)
        suppressed = _suppressed_lines(migration)
        table.caption = (
            f"sites: {migration.sites_found} found, {migration.sites_migrated} migrated, "
            f"{_count(_attention_lines(migration), 'line needs', 'lines need')} attention"
            f" ({_count(blocking, 'finding', 'findings')})"
            + (f", {_count(suppressed, 'suppressed line', 'suppressed lines')} left as written" if suppressed else "")
            + _interface_line(migration)
        )
        table.caption_justify = "left"
        if self.err.isatty():  # rich honours NO_COLOR here
            console = Console(file=self.err, highlight=False, emoji=False)
            console.print(table)
            console.print()
            return
        # Not a terminal: plain text whatever FORCE_COLOR says (as black), at a fixed width.
        console = Console(
            file=io.StringIO(), width=100, force_terminal=False, color_system=None, highlight=False, emoji=False
        )
        console.print(table)
        text = console.file.getvalue()
        self.err.write("".join(line.rstrip() + "\n" for line in text.splitlines()) + "\n")

    def _table_title(self, result: FileResult) -> str:
        migration = result.migration
        if result.written:
            verdict = "rewritten"
        elif migration.changed:
            verdict = "would be rewritten"
        elif migration.blocked:
            verdict = "needs attention, nothing written"
        else:
            verdict = "unchanged"
        if migration.changed and migration.blocked:
            verdict += " in part"
        form = f", (h, c) held as {migration.state_form}" if migration.state_form else ""
        return f"{result.path}: {verdict}{form}{_fallback_note(migration)}"

    def summary(self) -> str:
        counts = self.counts()
        would = "would be " if self.dry_run else ""
        parts = []
        if counts["changed"]:
            parts.append(f"{_files(counts['changed'])} {would}rewritten")
        if counts["unchanged"]:
            parts.append(f"{_files(counts['unchanged'])} {would}left unchanged")
        if counts["needs_attention"]:
            verb = "needs" if counts["needs_attention"] == 1 else "need"
            parts.append(f"{_files(counts['needs_attention'])} {verb} attention")
        if counts["error"]:
            parts.append(f"{_files(counts['error'])} {'would fail' if self.dry_run else 'failed'} to rewrite")
        return (", ".join(parts) if parts else "No Python files are present to be rewritten") + "."

    # ------------------------------------------------------------------------- json
    def render_json(self, diff: bool = False) -> None:
        document = {
            "version": __version__,
            "files": [record(result, diff=diff) for result in self.results],
            "summary": self.counts(),
            "exit_code": self.exit_code(),
        }
        json.dump(document, self.out, indent=2)
        self.out.write("\n")
        self.out.flush()

    # ------------------------------------------------------------------------- CI
    def render_github(self) -> None:
        from gru2lstm.formats import github_annotations

        for line in github_annotations(self.results, self.shown, check=self.check):
            print(line, file=self.out)
        self.out.flush()

    def render_sarif(self) -> None:
        from gru2lstm.formats import sarif_log

        json.dump(sarif_log(self.results, self.exit_code()), self.out, indent=2)
        self.out.write("\n")
        self.out.flush()


def record(result: FileResult, diff: bool = False) -> dict:
    """The JSON record of one file."""
    migration = result.migration
    item: dict = {
        "path": result.path,
        "status": result.status,
        "written": result.written,
        "error": _error(result),
        "verification": result.verification,
        "state_form": None,
        "state_form_fallback": None,
        "state_form_other": None,
        "steps": [],
        "findings": [],
        "sites": {"found": 0, "migrated": 0, "attention": 0},
        "interface_changes": [],
    }
    if migration is not None:
        item.update(
            state_form=migration.state_form,
            state_form_fallback=_fallback_record(migration.form_fallback),
            state_form_other=_fallback_record(migration.other_form),
            steps=[
                {"step": s.step, "title": STEPS.get(s.step, s.step), "kept": s.step in KEPT_STEPS, "lines": list(s.lines)}
                for s in migration.steps
            ],
            findings=[
                {"line": f.line, "column": f.column, "code": f.code, "severity": f.severity, "message": f.message,
                 "suppressed": f.suppressed}
                for f in migration.findings
            ],
            sites={
                "found": migration.sites_found,
                "migrated": migration.sites_migrated,
                "attention": _attention_lines(migration),
                "suppressed": _suppressed_lines(migration),
            },
            interface_changes=[
                {"line": c.line, "column": c.column, "function": c.function, "carriers": c.carriers, "called": c.called}
                for c in migration.interface
            ],
        )
    if diff:
        item["diff"] = result.diff
    return item


def _error(result: FileResult) -> Optional[dict]:
    if result.error is None:
        return None
    return {"line": result.error.line, "column": result.error.column, "message": result.error.message}


def _fallback_note(migration) -> str:
    """Why auto holds (h, c) in its second choice of form, or why it did not take the second
    choice, for the table's title ("" if it did not plan one)."""
    fallback, other = migration.form_fallback, migration.other_form
    if fallback is not None:
        return f" (auto: {fallback.refused} refused ({fallback.code} at {fallback.path}:{fallback.line}), {migration.state_form} taken)"
    if other is not None:
        why = "refused too" if other.code != "G2L202" else "not taken: it changes a contract no analysed caller follows"
        return f" (auto: {other.refused} {why} ({other.code} at {other.path}:{other.line}))"
    return ""


def _fallback_record(fallback) -> Optional[dict]:
    if fallback is None:
        return None
    return {"refused": fallback.refused, "code": fallback.code, "path": fallback.path, "line": fallback.line}


def _attention_lines(migration) -> int:
    return len({f.line for f in migration.findings if f.blocks_write})


def _suppressed_lines(migration) -> int:
    """Lines whose error findings an ignore comment suppressed: uses left as they are."""
    return len({f.line for f in migration.findings if f.suppressed and f.severity == ERROR})


def _interface_line(migration) -> str:
    """The functions whose contract changes, for the table's caption: callers must follow."""
    if not migration.interface:
        return ""
    names = ", ".join(
        f"{change.function}() ({'its callers here follow' if change.called else 'no caller found'})" for change in migration.interface
    )
    return f"\ninterface changes (parameters or returns that become (h, c)): {names}"


def _lines(lines) -> str:
    return ", ".join(str(line) for line in sorted(lines))


def _files(count: int) -> str:
    return _count(count, "file", "files")


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
