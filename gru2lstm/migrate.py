"""Migrate one module's source from nn.GRU to nn.LSTM: the single entry point of the engine.

parse -> collect (flow.py) -> solve (solve.py) -> plan (plan.py) -> apply (apply.py).
"""

from __future__ import annotations

import libcst as cst
import libcst.metadata as meta

from gru2lstm.apply import apply_plan
from gru2lstm.findings import Finding
from gru2lstm.flow import collect
from gru2lstm.options import Options
from gru2lstm.plan import Planner
from gru2lstm.results import STEPS, Migration, StepRecord
from gru2lstm.solve import solve


class SourceError(Exception):
    """The source cannot be parsed; nothing can be said about it."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.line = line
        self.column = column
        self.message = message


def parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        failure = SourceError(error.raw_line, error.raw_column + 1, f"cannot parse: {error.message}")
    # Python's own message places the error where people expect it; LibCST's is the fallback.
    try:
        compile(source, "<source>", "exec", dont_inherit=True)
    except SyntaxError as error:
        failure = SourceError(error.lineno or 1, error.offset or 1, f"cannot parse: {error.msg}")
    except ValueError:
        pass
    raise failure


def local_gru_classes(flow, parents: dict) -> list:
    """Calls of something named GRU/GRUCell that is not torch.nn's: said, and left alone."""
    return [
        node
        for node, name in flow.references
        if not name.startswith("torch.") and isinstance(parents.get(node), cst.Call) and parents[node].func is node
    ]


def planned_form(solution, options: Options) -> str:
    return solution.form if options.state == "auto" else options.state


def migrate_source(source: str, options: Options = Options()) -> Migration:
    """Return the migrated source and what each step did. Never raises but SourceError."""
    wrapper = meta.MetadataWrapper(parse(source), unsafe_skip_copy=True)  # parsed here, owned here
    parents = wrapper.resolve(meta.ParentNodeProvider)
    flow = collect(wrapper.module, parents)
    solution = solve(flow)
    if not solution.constructors:
        return Migration(source, False, findings=_not_torch_gru(wrapper, flow, solution, parents))
    planned = Planner(wrapper, flow, solution, options).run()
    findings = planned.findings + _not_torch_gru(wrapper, flow, solution, parents)
    migration = Migration(
        source,
        False,
        steps=[StepRecord(step, tuple(sorted(planned.steps[step]))) for step in STEPS if step in planned.steps],
        findings=sorted(findings, key=lambda f: (f.line, f.column, f.code)),
        state_form=planned_form(solution, options),
        sites_found=len(planned.sites),
    )
    if migration.blocked and not options.allow_partial:
        return migration
    planned.plan.mark_manual = options.allow_partial
    new_source = apply_plan(wrapper.module, planned.plan).code
    migration.source = new_source
    migration.changed = new_source != source
    migration.sites_migrated = migration.sites_found - len({f.line for f in migration.findings if f.blocks_write})
    return migration


def _not_torch_gru(wrapper, flow, solution, parents) -> list:
    """Info findings: an LSTM already, or a `GRU` that is not torch's."""
    findings = []
    if solution.lstm_constructors and not solution.constructors:
        findings.append(Finding(1, 1, "G2L200", "the recurrent module is already an LSTM; nothing to migrate"))
    for node in local_gru_classes(flow, parents):
        position = wrapper.resolve(meta.PositionProvider)[node].start
        findings.append(Finding(position.line, position.column + 1, "G2L201", "`GRU` here is not torch.nn.GRU; left alone"))
    return findings
