"""What a run says, and the exit code it ends with: one Report owns both (as in black).

stdout carries what tools read (findings, diffs, JSON); stderr carries what people read
("would rewrite X", the per-file step summary, the totals).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TextIO

from gru2lstm.findings import INFO
from gru2lstm.results import KEPT_STEPS, STEPS, FileResult

EXIT_OK = 0
EXIT_WORK = 1  # --check found work, or a file needs a person
EXIT_USAGE = 2
EXIT_INTERNAL = 123  # a crash or an unparsable file


@dataclass
class Report:
    results: list
    check: bool = False  # --check: finding work is a failure
    dry_run: bool = False  # --check or --diff: nothing is written
    verbose: bool = False
    quiet: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    # ----------------------------------------------------------------- policy
    def exit_code(self) -> int:
        if any(r.status == "error" for r in self.results):
            return EXIT_INTERNAL
        if any(r.status == "needs_attention" for r in self.results):
            return EXIT_WORK
        if self.check and any(r.status == "changed" for r in self.results):
            return EXIT_WORK
        return EXIT_OK

    # ----------------------------------------------------------------- text
    def render_text(self, diff: bool = False) -> None:
        for result in self.results:
            if result.status == "error":
                print(f"{result.path}:{result.error}", file=self.err)
                continue
            migration = result.migration
            if migration is not None:
                stream = self.err if diff else self.out
                for finding in migration.findings:
                    if finding.severity == INFO and not self.verbose:
                        continue
                    print(f"{result.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}", file=stream)
            if diff and result.diff:
                self.out.write(result.diff)
            if result.status in ("changed", "needs_attention") and migration is not None and migration.changed:
                verb = "rewrote" if result.written else "would rewrite"
                print(f"{verb} {result.path}", file=self.err)
            elif self.verbose and result.status == "unchanged":
                print(f"{result.path} unchanged", file=self.err)
            if not self.quiet and migration is not None and (migration.changed or migration.blocked or self.verbose):
                self._step_table(result)
        if not self.quiet:
            print(self.summary(), file=self.err)

    def _step_table(self, result: FileResult) -> None:
        from rich.console import Console
        from rich.table import Table

        migration = result.migration
        applied = {record.step: record.lines for record in migration.steps}
        attention = {}
        for finding in migration.findings:
            if finding.blocks_write:
                attention.setdefault("findings", []).append(finding.line)
        form = f", state held as {migration.state_form}" if migration.state_form else ""
        table = Table(title=f"{result.path}{form}", title_justify="left", show_edge=False)
        table.add_column("step")
        table.add_column("result")
        table.add_column("lines")
        for step, title in STEPS.items():
            if step in applied:
                status = "kept" if step in KEPT_STEPS else "applied"
                table.add_row(title, status, _lines(applied[step]))
            else:
                table.add_row(title, "not needed", "")
        if attention:
            table.add_row("uses the engine does not understand", "[bold red]needs attention[/]", _lines(attention["findings"]))
        Console(file=self.err, width=120, no_color=not self.err.isatty(), highlight=False).print(table)

    def summary(self) -> str:
        counts = {status: 0 for status in ("changed", "unchanged", "needs_attention", "error")}
        for result in self.results:
            counts[result.status] += 1
        would = "would be " if self.dry_run else ""
        parts = []
        if counts["changed"]:
            parts.append(f"{_files(counts['changed'])} {would}rewritten")
        if counts["unchanged"]:
            parts.append(f"{_files(counts['unchanged'])} {would}left unchanged")
        if counts["needs_attention"]:
            parts.append(f"{_files(counts['needs_attention'])} need attention")
        if counts["error"]:
            parts.append(f"{_files(counts['error'])} failed")
        return (", ".join(parts) or "no Python files") + "."

    # ----------------------------------------------------------------- json
    def render_json(self) -> None:
        records = [_record(result) for result in self.results]
        summary = {status: sum(1 for r in self.results if r.status == status)
                   for status in ("changed", "unchanged", "needs_attention", "error")}
        json.dump({"files": records, "summary": summary, "exit_code": self.exit_code()}, self.out, indent=2)
        self.out.write("\n")


def _record(result: FileResult) -> dict:
    migration = result.migration
    record = {"path": result.path, "status": result.status, "written": result.written, "error": result.error}
    if migration is None:
        record.update(state_form=None, steps=[], findings=[], sites={"found": 0, "migrated": 0, "attention": 0})
        return record
    attention = len({f.line for f in migration.findings if f.blocks_write})
    record.update(
        state_form=migration.state_form,
        steps=[
            {"step": s.step, "title": STEPS[s.step], "kept": s.step in KEPT_STEPS, "lines": list(s.lines)}
            for s in migration.steps
        ],
        findings=[
            {"line": f.line, "column": f.column, "code": f.code, "severity": f.severity, "message": f.message}
            for f in migration.findings
        ],
        sites={"found": migration.sites_found, "migrated": migration.sites_migrated, "attention": attention},
    )
    return record


def _lines(lines) -> str:
    return ", ".join(str(line) for line in lines)


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"
