"""Migrate modules from nn.GRU to nn.LSTM: the single entry point of the engine.

parse -> collect (flow.py) -> solve (solve.py) -> plan (plan.py) -> apply (apply.py), over one
module (`migrate_source`) or over modules that share hidden states (`migrate_modules`: a group of
files that import each other, see project.py). It also owns the choice of form: `--state auto`
plans the form chosen from where the state is stored and, when that plan refuses, the other one,
taken when clean (a FormFallback on the report says so).
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import chain
from typing import Optional

import libcst as cst
import libcst.metadata as meta

from gru2lstm.apply import apply_plan
from gru2lstm.children import children
from gru2lstm.classes_by_value import classes_chosen_by_value, returning_calls
from gru2lstm.findings import ERROR, new_finding
from gru2lstm.flow import collect
from gru2lstm.guessed_owners import misguessed, still_misguessed, untied_reads_of
from gru2lstm.options import Options
from gru2lstm.plan import Planner
from gru2lstm.positions import Positions, code_of, positions_ahead
from gru2lstm.project import ModuleSource
from gru2lstm.qualnames import dotted, is_named_getattr, literal_import, module_imports, module_path
from gru2lstm.rules.module import chosen_class_message, held_as_value, held_class_message, lstm_class_beside
from gru2lstm.results import KEPT_STEPS, STEPS, FileError, FormFallback, Migration, StepRecord
from gru2lstm.solve import solve
from gru2lstm.summaries import whole_factories
from gru2lstm.suppression import read_comments, review
from gru2lstm import syntax
from gru2lstm.vocab import GRU_NAMES, NESTED_TORCH_IMPORT_TEXT, RECURRENT_NAMES, RECURRENT_WORDS, TORCH_RECURRENT_PATHS


class SourceError(Exception):
    """The source cannot be parsed; nothing can be said about it. `error` says where and why;
    `key` is the module's key once migrate_modules knows it."""

    def __init__(self, error: FileError, key: Optional[str] = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.key = key


def parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        failure = SourceError(FileError(error.raw_line, error.raw_column + 1, f"cannot parse: {error.message}"))
    # Python's own message places the error where people expect it; LibCST's is the fallback.
    try:
        compile(source, "<source>", "exec", dont_inherit=True)
    except SyntaxError as error:
        failure = SourceError(FileError(error.lineno or 1, error.offset or 1, f"cannot parse: {error.msg}"))
    except ValueError:
        pass
    raise failure


class ParsedModule(meta.MetadataWrapper):
    """A parsed module and its metadata, with the parent of every node found by a direct walk.

    LibCST's ParentNodeProvider runs a full visitor pass and, at each node, a second visit of its
    children: about 2.5 times the parse. The walk below reads each node's children once from its
    fields (children.py) and records them in the provider's order (post-order, each node's
    children in source order), which flow.py and plan.py iterate. Positions are computed on the
    first question about one (positions.py), so a module nothing reports on never pays for them.
    """

    def __init__(self, module: cst.Module, source: Optional[str] = None) -> None:
        super().__init__(module, unsafe_skip_copy=True)  # parsed here, owned here
        self.source = source  # the text it was parsed from, for cheap tests of what it spells
        self._parents: Optional[dict] = None
        self._positions: Optional[Positions] = None
        self._positions_ahead = positions_ahead(module)

    @property
    def positions(self) -> Positions:
        if self._positions is None:
            self._positions = self._positions_ahead()
        return self._positions

    def resolve(self, provider):
        if provider is not meta.ParentNodeProvider:
            return super().resolve(provider)
        if self._parents is None:
            self._parents = parent_map(self.module)
        return self._parents


def parent_map(module: cst.Module) -> dict:
    """node -> its parent, for every node below `module`, in ParentNodeProvider's order."""
    parents: dict = {}
    below = children(module)
    stack = [(module, below, iter(below))]  # a node, its children, those not descended into yet
    while stack:
        node, below, rest = stack[-1]
        for child in rest:
            under = children(child)
            if under:  # a leaf needs no entry: its parent is recorded with its siblings
                stack.append((child, under, iter(under)))
                break
        else:
            stack.pop()
            for child in below:
                parents[child] = node
    return parents


def local_gru_classes(flow, parents: dict) -> list:
    """Calls of something named GRU/GRUCell that is not torch.nn's: said, and left alone."""
    return [
        node
        for node, name in flow.references
        if not name.startswith("torch.") and isinstance(parents.get(node), cst.Call) and parents[node].func is node
    ]


OTHER_FORM = {"packed": "tuple", "tuple": "packed"}


def planned_form(solution, options: Options) -> str:
    """The form planned first: the one asked for, or auto's choice from where the state is stored."""
    return solution.form if options.state == "auto" else options.state


def migrate_source(source: str, options: Options = Options()) -> Migration:
    """Return the migrated source and what each step did. Never raises but SourceError."""
    return migrate_modules([ModuleSource("<source>")], [source], options)[0]


def migrate_modules(modules: list, sources: list, options: Options = Options()) -> list:
    """Migrate modules together: a Migration per module, in order.

    `modules` are ModuleSources (key and import table), `sources` their texts. A hidden state
    that crosses from one module to another is followed and rewritten in both. Raises
    SourceError (with `.key` set to the module's key) for a module that does not parse.
    """
    wrappers = {}
    for module, source in zip(modules, sources):
        try:
            wrappers[module.key] = ParsedModule(parse(source), source)
        except SourceError as error:
            error.key = module.key
            raise
    parents = {key: wrapper.resolve(meta.ParentNodeProvider) for key, wrapper in wrappers.items()}
    if not any(word in source for source in sources for word in RECURRENT_WORDS):
        # files that choose a class of torch.nn by a name (`getattr(nn, cfg.rnn)`) and no more: the walk
        # would find nothing to migrate, and on a big file it costs seconds
        returning = returning_calls(modules, wrappers, parents)
        return [
            Migration(source, False, findings=review(classes_chosen_by_value(wrappers[m.key], parents[m.key], returning[m.key]), source))
            for m, source in zip(modules, sources)
        ]
    walked = [(m.key, wrappers[m.key].module, parents[m.key], m) for m in modules]
    flow = collect(walked)
    solution = solve(flow)
    whole = whole_factories(flow, solution)
    if whole:
        flow = collect(walked, whole_factories=whole)
        solution = solve(flow)
    unguessed = misguessed(flow, solution)
    untied_reads = {}
    if unguessed:
        # objects taken for a class by an attribute's name, shown to be other objects: walked again as such
        flow_again = collect(walked, unguessed, flow.whole_factories)
        solution_again = solve(flow_again)
        if not still_misguessed(flow_again, solution_again, flow):
            untied_reads = untied_reads_of(flow, flow_again, parents)
            flow, solution = flow_again, solution_again
    if not solution.constructors:
        returning = returning_calls(modules, wrappers, parents)
        return [
            Migration(source, False, findings=review(
                _unfollowed_constructions(wrappers[m.key], flow, parents[m.key]) + _not_torch_gru(wrappers[m.key], flow, solution, parents[m.key])
                + _unwalked_grus(wrappers[m.key], flow, parents[m.key], m.torch_names) + classes_chosen_by_value(wrappers[m.key], parents[m.key], returning[m.key]),
                source,
            ))
            for m, source in zip(modules, sources)
        ]
    form = planned_form(solution, options)
    planned, migrations = _plan_form(form, wrappers, flow, solution, options, modules, sources)
    if options.state == "auto" and _refused(migrations):
        # Auto's first choice is a guess from where the state is stored; the other form may hold
        # it where this one cannot (packed needs ranks it cannot always know). Taken only when
        # clean, so a refusal in both forms reads exactly as before: the first choice's findings.
        # Nor when it changes a contract no analysed caller follows (G2L202): callers elsewhere
        # were written for the GRU, and the first choice refused; that guess is the user's to make.
        other, other_migrations = _plan_form(OTHER_FORM[form], wrappers, flow, solution, options, modules, sources)
        if not _refused(other_migrations) and not _uncalled_interface(other_migrations):
            fallback = _fallback(form, modules, migrations)
            for migration in other_migrations:
                if migration.state_form is not None:
                    migration.form_fallback = fallback
            planned, migrations = other, other_migrations
        else:  # the first choice's findings may say "use --state <other>": the report says why not
            kept_out = _fallback(OTHER_FORM[form], modules, other_migrations)
            for migration in migrations:
                if migration.state_form is not None:
                    migration.other_form = kept_out
    blocked = [module.key for module, migration in zip(modules, migrations) if migration.blocked]
    if blocked and not options.allow_partial:
        # All or nothing: modules that share states are migrated together or not at all.
        for module, migration in zip(modules, migrations):
            if not migration.blocked and set(planned.modules[module.key].steps) - KEPT_STEPS:
                migration.findings.insert(0, new_finding(
                    "G2L105", f"not migrated: {', '.join(blocked)} {'share' if len(blocked) > 1 else 'shares'} hidden states "
                    f"with this file and {'need' if len(blocked) > 1 else 'needs'} attention; resolve {'their' if len(blocked) > 1 else 'its'} findings first"
                ))
        return migrations
    planned.plan.mark_manual = options.allow_partial
    _unmark_suppressed(planned.plan.manual, wrappers, sources, modules)
    for module, migration in zip(modules, migrations):
        migration.untied_reads = untied_reads.get(module.key, frozenset())
        new_source = code_of(apply_plan(wrappers[module.key].module, planned.plan, parents[module.key]))
        migration.changed = new_source != migration.source
        migration.source = new_source
        # A suppressed use is left as it is: not migrated, though it needs no person.
        migration.sites_migrated = max(0, migration.sites_found - len({f.line for f in migration.findings if f.severity == ERROR}))
    return migrations


def _plan_form(form: str, wrappers: dict, flow, solution, options: Options, modules: list, sources: list) -> tuple:
    """(Planned, a Migration per module, not applied yet) of the group held in `form`. Each plan
    runs the rules on a context of its own (rules/context.py): nothing of one reaches another."""
    planned = Planner(wrappers, flow, solution, replace(options, state=form)).run()
    migrations = []
    for module, source in zip(modules, sources):
        outcome = planned.modules[module.key]
        wrapper = wrappers[module.key]
        parents = wrapper.resolve(meta.ParentNodeProvider)
        findings = review(
            outcome.findings + _not_torch_gru(wrapper, flow, solution, parents) + _unwalked_grus(wrapper, flow, parents, module.torch_names), source
        )
        migrations.append(
            Migration(
                source,
                False,
                steps=[StepRecord(step, tuple(sorted(outcome.steps[step]))) for step in STEPS if step in outcome.steps],
                findings=sorted(findings, key=lambda f: (f.line, f.column, f.code)),
                state_form=form if _holds_recurrence(outcome, len(modules)) else None,
                sites_found=len(outcome.sites),
                reached=tuple(sorted(outcome.reached)),
                interface=tuple(outcome.interface),
                members=tuple(outcome.members),
                uncalled=tuple(outcome.uncalled),
            )
        )
    return planned, migrations


def _refused(migrations: list) -> bool:
    return any(migration.blocked for migration in migrations)


def _uncalled_interface(migrations: list) -> bool:
    return any(not change.called and not change.returned_inside for migration in migrations for change in migration.interface)


def _fallback(form: str, modules: list, migrations: list) -> FormFallback:
    """What the report says of a form auto did not take: its first blocking finding in the group,
    else its first change of a contract no analysed caller follows."""
    pairs = list(zip(modules, migrations))
    blocking = ((module.key, f.code, f.line) for module, migration in pairs for f in migration.findings if f.blocks_write)
    uncalled = ((module.key, "G2L202", c.line) for module, migration in pairs for c in migration.interface if not c.called)
    key, code, line = next(chain(blocking, uncalled))
    return FormFallback(form, code, key, line)


def _unmark_suppressed(manual: dict, wrappers: dict, sources: list, modules: list) -> None:
    """Drop from the plan's `# gru2lstm: manual` marks the codes an ignore comment suppresses there."""
    for module, source in zip(modules, sources):
        comments = read_comments(source)
        if not comments.ignored:
            continue
        positions = wrappers[module.key].positions
        for statement in [s for s in manual if s in positions]:
            line = positions[statement].start.line
            manual[statement] = [code for code in manual[statement] if not comments.ignores(line, code)]
            if not manual[statement]:
                del manual[statement]


def _holds_recurrence(outcome, count: int) -> bool:
    """Does the form apply to this module? Alone: always; in a group: when it has a site or a step."""
    return count == 1 or bool(outcome.sites or outcome.steps)


def _unfollowed_constructions(wrapper, flow, parents) -> list:
    """Where nothing constructs a torch GRU the walk follows, the GRUs it would leave GRUs: the
    class held as a value (a subclass `class Core(nn.GRU)`, the program's own GRU made as
    `Core(8)`; `RNN = nn.GRU` made as `RNN(4, 8)`; a choice beside an LSTM class, which the code
    handles already), and a GRU made but held nowhere it follows (`self.add_module("core", nn.GRU(4, 8))`)."""
    findings = []
    for node, name in flow.references:
        if name not in RECURRENT_NAMES or node not in parents or _in_unwalked_code(node, parents):
            continue  # (the last: _unwalked_grus)
        held = held_as_value(parents, node)
        call = parents.get(node)
        other = lstm_class_beside(parents, wrapper.module, node) if held is not None else None
        if other is not None:
            position = wrapper.positions[node].start
            findings.append(new_finding("G2L102", chosen_class_message(syntax.code_of(node), syntax.code_of(other)), position.line, position.column + 1))
        elif held is not None:
            position = wrapper.positions[node].start
            findings.append(new_finding("G2L101", held_class_message(syntax.code_of(node), held), position.line, position.column + 1))
        elif held is None and isinstance(call, cst.Call) and call.func is node and _in_lambda(call, parents):
            position = wrapper.positions[call].start
            findings.append(new_finding("G2L101", (
                f"`{syntax.code_of(call)}` is made inside a lambda, whose calls the engine does not follow, so the module "
                "would stay a GRU; make it in a function (`def make(...): return nn.GRU(...)`), or migrate it by hand"
            ), position.line, position.column + 1))
        elif held is None and isinstance(call, cst.Call) and call.func is node:
            position = wrapper.positions[call].start
            findings.append(new_finding("G2L101", (
                f"`{syntax.code_of(call)}` is made here but held nowhere the engine follows (a name or an attribute set "
                "by `=`), so the calls of it are not followed and it would stay a GRU; hold it in an attribute "
                "(`self.core = nn.GRU(...)`), or migrate it by hand"
            ), position.line, position.column + 1))
    return findings


def _unwalked_grus(wrapper, flow, parents, imported_torch_names: dict) -> list:
    """GRUs the walk never visits, which would stay GRUs (or be renamed while their state is not
    migrated): made in a class or function defined inside a function (`def build(): class Net:
    ... nn.GRU(4, 8)`; a nested scope is not walked), or under a name torch is imported as inside
    a function (`import torch.nn as nn`, `nn = importlib.import_module("torch.nn")` in `build()`:
    names are qualified by the module's imports), or under a name imported from a file of the
    project that binds it to torch (`from util import nn` of util's `nn = torch.nn`; `imported_torch_names`:
    ModuleSource.torch_names)."""
    nested = [
        (parents[node], "inside a class or function defined in a function", "that class or function to the top level of the module")
        for node, name in flow.references
        if name in RECURRENT_NAMES and isinstance(parents.get(node), cst.Call) and parents[node].func is node
        and _in_unwalked_code(node, parents)
    ]
    if wrapper.source is not None and re.search(NESTED_TORCH_IMPORT_TEXT, wrapper.source) is not None:
        seen = {id(node) for node, _ in flow.references}
        torch_names = _torch_names_imported(parents)
        nested += [
            (node, "under a name that torch is imported as inside a function", "that import to the top of the module")
            for node in parents
            if type(node) is cst.Call and id(node.func) not in seen  # children.py: why `type`
            and isinstance(root := syntax.attribute_root(node.func), cst.Name) and root.value in torch_names
            and (node.func.attr.value if isinstance(node.func, cst.Attribute) else getattr(node.func, "value", None)) in GRU_NAMES
        ]
    imports = module_imports(wrapper.module)  # `importlib.import_module("torch.nn")`, `sys.modules["torch"].nn`, `__import__("torch").nn`
    read = {True: ("read from `sys.modules`", "that read to an import at the top of the module"), False: ("imported in place", "that import to the top of the module")}
    nested += [
        (node, f"under `{syntax.code_of(node.func.value)}`, a module of torch {read[loaded][0]}",
         f"{read[loaded][1]} (`{_torch_import(module.rpartition('.')[2], module)}`)")
        for node in parents
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute) and node.func.attr.value in GRU_NAMES
        and not isinstance(syntax.attribute_root(node.func.value), cst.Name)  # (`nn.GRU` under an import is walked)
        and (module := module_path(node.func.value, imports)) in TORCH_RECURRENT_PATHS
        for loaded in [type(syntax.attribute_root(node.func.value)) is cst.Subscript]
    ]
    def stands_for(name: str) -> str:  # `util.nn` is reached through the module util, not imported by that name
        path, shown = imported_torch_names[name]
        return f"a name {'of' if '.' in name else 'this file imports from'} {shown}, where it stands for `{path}`"

    reached = {name: f"under `{name}`, {stands_for(name)}" for name in imported_torch_names}
    aliases = _aliases_of_imported(wrapper.module, imported_torch_names)
    reached.update((name, f"under `{name}`, set here to `{value}`, {stands_for(value)}") for name, value in aliases.items())
    nested += [
        (node, reached[name], f"its import from torch to this file (`{_torch_import(name, imported_torch_names[aliases.get(name, name)][0])}`)")
        for node in (parents if imported_torch_names else ())
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute) and node.func.attr.value in GRU_NAMES
        and (name := _imported_prefix(node.func.value, reached)) is not None
    ]
    findings = []
    for call, why, remedy in nested:
        position = wrapper.positions[call].start
        findings.append(new_finding("G2L101", (
            f"`{syntax.code_of(call)}` is made {why}, which the engine does not follow, so it would not be migrated with "
            f"the rest; migrate it by hand, or move {remedy}"
        ), position.line, position.column + 1, local=True))
    return findings


def _imported_prefix(node: cst.BaseExpression, names: dict) -> Optional[str]:
    """The longest dotted prefix of `node` (`util.nn` of `util.nn.GRU`, `T` of `T.nn.GRU`) that
    is one of `names` (a name imported from a file of the project where it stands for torch, or one
    set to such a name), or None."""
    while isinstance(node, (cst.Attribute, cst.Name)):
        if dotted(node) in names:
            return dotted(node)
        node = node.value if isinstance(node, cst.Attribute) else None
    return None


def _aliases_of_imported(module: cst.Module, imported_torch_names: dict) -> dict:
    """The module-level names set to one of `imported_torch_names` (`N = util.nn`): {"N": "util.nn"}."""
    return {
        dotted(statement.targets[0].target): dotted(statement.value)
        for line in module.body if isinstance(line, cst.SimpleStatementLine)
        for statement in line.body
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0].target, cst.Name)
        and isinstance(statement.value, (cst.Name, cst.Attribute)) and dotted(statement.value) in imported_torch_names
    }


def _torch_import(name: str, path: str) -> str:
    """The import that binds `name` to the torch path `path` (`from torch import nn`); for a name
    reached through a module (`util.nn`), its last part."""
    name = name.rpartition(".")[2]
    module, _, member = path.rpartition(".")
    if not module:
        return f"import {path}" if name == path else f"import {path} as {name}"
    return f"from {module} import {member}" + ("" if member == name else f" as {name}")


def _torch_names_imported(parents: dict) -> set:
    """The names any import of the module binds to torch or a module of it, wherever it stands
    (an import by a call with a literal name, `nn = importlib.import_module("torch.nn")`, too),
    and the names such a name is aliased to (`nn = torch.nn`)."""
    names = set()
    aliases = []
    for node in parents:
        if type(node) is cst.Import:
            for alias in node.names:
                if syntax.code_of(alias.name).split(".")[0] == "torch":
                    names.add(alias.asname.name.value if alias.asname else "torch")
        elif type(node) is cst.ImportFrom and node.module is not None and syntax.code_of(node.module).split(".")[0] == "torch":
            if not isinstance(node.names, cst.ImportStar):
                names.update((alias.asname.name if alias.asname else alias.name).value for alias in node.names)
        elif type(node) is cst.Assign and (literal_import(node) or "").split(".")[0] == "torch":
            names.add(node.targets[0].target.value)
        elif type(node) is cst.Assign and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            value = node.value.args[0].value if is_named_getattr(node.value) else node.value  # `nn = getattr(torch, "nn")`
            root = syntax.attribute_root(value)
            if isinstance(root, cst.Name) and isinstance(value, (cst.Name, cst.Attribute)):
                aliases.append((node.targets[0].target.value, root.value))
    # aliases in source order: `nn = torch.nn` after `import torch`, wherever each stands
    names.update(alias for alias, root in aliases if root in names)
    return names


def _in_lambda(node: cst.CSTNode, parents: dict) -> bool:
    current = parents.get(node)
    while current is not None and type(current) not in (cst.Lambda, cst.FunctionDef, cst.ClassDef):
        current = parents.get(current)
    return type(current) is cst.Lambda


def _in_unwalked_code(node: cst.CSTNode, parents: dict) -> bool:
    """Is `node` in a class or function defined inside a function (the walk visits the module's
    code, its functions, and its classes' bodies and methods, not what a function defines)?"""
    inner = False  # a function or class met already, climbing out
    current = parents.get(node)
    while current is not None:
        if type(current) is cst.FunctionDef and inner:
            return True
        inner = inner or type(current) in (cst.FunctionDef, cst.ClassDef)
        current = parents.get(current)
    return False


def _not_torch_gru(wrapper, flow, solution, parents) -> list:
    """Info findings: an LSTM already, or a `GRU` that is not torch's."""
    findings = []
    if solution.lstm_constructors and not solution.constructors and _constructs_here(solution.lstm_constructors, parents):
        findings.append(new_finding("G2L200", "the recurrent module is already an LSTM; nothing to migrate"))
    for node in local_gru_classes(flow, parents):
        if node not in parents:
            continue
        position = wrapper.positions[node].start
        findings.append(new_finding("G2L201", "`GRU` here is not torch.nn.GRU; left alone", position.line, position.column + 1))
    return findings


def _constructs_here(constructors: list, parents: dict) -> bool:
    return any(ctor.node in parents for ctor in constructors)
