"""The one transformer that applies a plan: edits keyed by original node, applied bottom-up.

An edit is a function of the already-updated node (so edits nest: a rename inside a pair of
halves survives) and of `updated(original)`, which maps any original node below it to its
updated form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import libcst as cst

from gru2lstm.names import lstm_prose
from gru2lstm.syntax import is_line

# The nodes that open a scope, tested by concrete class on every node visited (children.py: why).
_SCOPES = frozenset({cst.Module, cst.ClassDef, cst.FunctionDef})

Edit = Callable[[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]], cst.CSTNode]


@dataclass
class Plan:
    expressions: dict = field(default_factory=dict)  # original node -> Edit
    statements: dict = field(default_factory=dict)  # original SimpleStatementLine -> [Edit] of lines
    before: dict = field(default_factory=dict)  # original statement -> [code]
    after: dict = field(default_factory=dict)  # original SimpleStatementLine -> [Edit] returning lines
    renames: dict = field(default_factory=dict)  # original Name node -> new value
    manual: dict = field(default_factory=dict)  # original SimpleStatementLine -> [finding codes]
    mark_manual: bool = False  # write `# gru2lstm: manual` on those lines (--allow-partial)
    prose_scopes: set = field(default_factory=set)  # ids of module/class/function nodes touched
    docstrings: set = field(default_factory=set)  # ids of docstring SimpleString nodes

    @property
    def empty(self) -> bool:
        return not (self.expressions or self.statements or self.before or self.after or self.renames)


class Applier(cst.CSTTransformer):
    def __init__(self, plan: Plan, on_path: set) -> None:
        super().__init__()
        self.plan = plan
        self.on_path = on_path  # ids of the nodes that are or hold a node the plan may change
        self.mapping: dict = {}
        self.scopes: list = []

    def updated(self, original: cst.CSTNode) -> cst.CSTNode:
        return self.mapping.get(original, original)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) in _SCOPES:
            self.scopes.append(id(node))
        return id(node) in self.on_path

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        if type(original) in _SCOPES:
            self.scopes.pop()
        plan = self.plan
        if isinstance(original, cst.Name) and original in plan.renames:
            updated = updated.with_changes(value=plan.renames[original])
        edit = plan.expressions.get(original)
        if edit is not None:
            self.mapping[original] = updated  # an edit may look itself up
            updated = edit(updated, self.updated)
        if isinstance(original, cst.Comment) and self._in_touched_scope():
            updated = updated.with_changes(value=lstm_prose(updated.value))
        if isinstance(original, cst.SimpleString) and id(original) in plan.docstrings:
            updated = updated.with_changes(value=lstm_prose(updated.value))
        if is_line(original):
            self.mapping[original] = updated
            return self._statement(original, updated)
        self.mapping[original] = updated
        if isinstance(original, cst.BaseCompoundStatement) and plan.before.get(original):
            # lines above a `def` or a `try`: the blank lines and comments above it stay its own
            return cst.FlattenSentinel([*(cst.parse_statement(code) for code in plan.before[original]), updated])
        return updated

    def _in_touched_scope(self) -> bool:
        return any(scope in self.plan.prose_scopes for scope in self.scopes[-1:]) or (
            len(self.scopes) == 1 and self.scopes[0] in self.plan.prose_scopes
        )

    def _statement(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        plan = self.plan
        lines = []
        for code in plan.before.get(original, []):
            lines.append(cst.parse_statement(code))
        if original in plan.statements:
            for index, edit in enumerate(plan.statements[original]):
                lines.append(edit(updated, self.updated))
        else:
            lines.append(updated)
        for edit in plan.after.get(original, []):
            lines.append(edit(updated, self.updated))
        if plan.mark_manual and original in plan.manual:
            lines[-1] = _manual_comment(lines[-1], plan.manual[original])
        if len(lines) == 1:
            return lines[0]
        if isinstance(original, cst.SimpleStatementSuite):
            return _suite_as_block(lines)
        # Comments above the statement stay above the first line of its replacement.
        first = lines[0].with_changes(leading_lines=updated.leading_lines)
        rest = [line.with_changes(leading_lines=()) for line in lines[1:]]
        if lines[0] is not updated and plan.before.get(original):
            rest = [r if r is not updated else updated.with_changes(leading_lines=()) for r in rest]
        return cst.FlattenSentinel([first, *rest])


def _suite_as_block(lines: list) -> cst.IndentedBlock:
    """The lines that replace the statements after a colon (`if h is None: h = zeros(...)`), each
    on a line of its own in an indented block."""
    last = len(lines) - 1
    return cst.IndentedBlock(body=[
        cst.SimpleStatementLine(body=line.body, **({"trailing_whitespace": line.trailing_whitespace} if at == last else {}))
        if isinstance(line, cst.SimpleStatementSuite) else line
        for at, line in enumerate(lines)
    ])


def _manual_comment(line: cst.SimpleStatementLine, codes: list) -> cst.SimpleStatementLine:
    text = f"# gru2lstm: manual ({', '.join(sorted(set(codes)))})"
    trailing = line.trailing_whitespace
    if trailing.comment is not None:
        text = f"{trailing.comment.value}  {text}"
    return line.with_changes(
        trailing_whitespace=trailing.with_changes(whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(text))
    )


def apply_plan(module: cst.Module, plan: Plan, parents: dict) -> cst.Module:
    """The module with the plan applied; `parents`: node -> parent for every node below it."""
    return module.visit(Applier(plan, _paths_to_changes(plan, parents)))


def _paths_to_changes(plan: Plan, parents: dict) -> set:
    """ids of the nodes the plan may change and of every node above them. The transformer
    descends only into these: rebuilding every node of the module cost more than its parse, for
    edits on a few statements. A subtree left out comes back as the same object, which
    `Applier.updated` gives for its nodes too."""
    changes = [*plan.expressions, *plan.statements, *plan.before, *plan.after, *plan.renames]
    if plan.mark_manual:
        changes += plan.manual
    for node in parents:  # prose: any comment the rename would reword (on_leave asks if its scope is touched)
        if id(node) in plan.docstrings or type(node) is cst.Comment and lstm_prose(node.value) != node.value:  # children.py: why `type`
            changes.append(node)
    on_path: set = set()
    for node in changes:
        while node is not None and id(node) not in on_path:
            on_path.add(id(node))
            node = parents.get(node)
    return on_path


# what a subscript binds tighter than nothing: indexed as they are written
ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.Dict, cst.Set, cst.ListComp, cst.SimpleString, cst.Integer)


def pair(first: cst.BaseExpression, second: cst.BaseExpression) -> cst.Tuple:
    """`first, second` without parentheses (callers add them where the grammar needs them)."""
    return cst.Tuple(
        [cst.Element(first, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Element(second)],
        lpar=[],
        rpar=[],
    )


def index(node: cst.BaseExpression, position: int) -> cst.Subscript:
    if not isinstance(node, ATOMS) and not node.lpar:  # `(m if m is not None else h0)[0]`, not the `else` branch's
        node = node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Subscript(node, [cst.SubscriptElement(cst.Index(cst.Integer(str(position))))])


def replace_inside(root: cst.CSTNode, old: Optional[cst.CSTNode], new: cst.CSTNode) -> cst.CSTNode:
    if old is None:
        return root
    return replace_many(root, {old: new})


def replace_many(root: cst.CSTNode, replacements: dict) -> cst.CSTNode:
    """Replace nodes by identity, all in one pass (a pass rebuilds every node above a change)."""
    if root in replacements:
        return replacements[root]
    return root.visit(_Replacer(replacements))


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict) -> None:
        super().__init__()
        self.replacements = replacements

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node not in self.replacements

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        return self.replacements.get(original, updated)
