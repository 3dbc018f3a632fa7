"""Reads of a group's changed members in files that were not migrated with it.

A migration changes more than the functions whose parameters or returns hold the state: an
attribute of a class that holds it (`agent.hidden`) becomes (h, c), and in packed form the size
a state is allocated with (`actor_critic.recurrent_hidden_state_size`) is doubled where the
group allocates one. A file that reads such a member and is not migrated with the group (it
was not given, or it reaches the object without importing the group's files: `torch.load`, a
factory of another file) would still take one tensor, or allocate the GRU's size.

This module finds those reads, with the stdlib `ast` only and after a byte search for the
members' names, so that files which never spell them cost a substring search. Which object an
attribute is read from cannot be known without the engine's analysis; a read counts when the
file imports the group's files, or when the same name is used for two of the group's members
or changed methods (`actor_critic.recurrent_hidden_state_size` and `actor_critic.act(...)`):
an object used as the group's class is taken to be one; so is a read of an attribute that
holds the recurrent module by a name that spells gru (`agent.gru`), on its own. `self.X` inside a class is that
class's own attribute, never a read of the group's. A given file that spells `GRU` is a program
of its own (its own group, or a file the prefilter looked at), not a reader of another's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Optional

from gru2lstm.findings import new_finding
from gru2lstm.names import lstm_name
from gru2lstm.vocab import GRU_NEEDLE

__all__ = ["MemberRead", "OutsideReads", "member_reads", "read_finding"]


@dataclass(frozen=True)
class MemberRead:
    """One read of a changed member: where, what was written, and which member."""

    line: int
    column: int
    code: str  # `agent.hidden`
    name: str  # the member's name


def member_reads(
    uses: "_Uses", members: set, interface: set, imports_group: bool, spelled: frozenset = frozenset(), modules: frozenset = frozenset()
) -> list:
    """The reads of `members` (names of the changed members) among a file's `uses`, in order.
    `interface`: the names of the group's changed methods, which also tell an object of the group's
    classes; `imports_group`: the file imports the group's files, so any read counts; `spelled`:
    members that hold the recurrent module by a name that spells gru (`agent.gru`), each read of
    which counts on its own; `modules`: members that hold it by any name, whose reads count on
    their own where they are called as a recurrent module is, with an input and a state
    (`agent.core(x, h0)`)."""
    known = members | interface
    return [
        MemberRead(node.lineno, node.col_offset + 1, f"{_object_name(node.value)}.{node.attr}", node.attr)
        for node in uses.reads
        if node.attr in members and (
            imports_group or node.attr in spelled or (node.attr in modules and id(node) in uses.called_with_state)
            or len(uses.names[_object_name(node.value)] & known) > 1
        )
    ]


def _object_name(node: ast.expr) -> Optional[str]:
    """`agent` of `agent.hidden`, `self.net` of `self.net.hidden`: a name or a chain of attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _object_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _parsed(data: bytes) -> Optional[ast.Module]:
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


class _Uses(ast.NodeVisitor):
    """Every `X.attr` with X a plain name other than a method's own instance, or a chain of
    attributes (`self.net.hidden`: the object a method's instance holds), and the attributes used
    on each such X in the file."""

    def __init__(self) -> None:
        self.reads: list = []  # ast.Attribute nodes, in source order
        self.names: dict = {}  # X -> {attr, ...}
        self.own: list = [None]  # the instance name of the method being walked (None outside one)
        self.in_class = [False]
        self.called_with_state: set = set()  # ids of the attributes called with two arguments or more (`agent.core(x, h0)`)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.in_class.append(True)
        self.generic_visit(node)
        self.in_class.pop()

    def visit_FunctionDef(self, node) -> None:
        arguments = node.args.posonlyargs + node.args.args
        self.own.append(arguments[0].arg if self.in_class[-1] and arguments else self.own[-1])
        self.in_class.append(False)
        self.generic_visit(node)
        self.in_class.pop()
        self.own.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and len(node.args) + len(node.keywords) >= 2:
            self.called_with_state.add(id(node.func))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = _object_name(node.value)
        if name is not None and name != self.own[-1]:
            self.reads.append(node)
            self.names.setdefault(name, set()).add(node.attr)
        self.generic_visit(node)


class OutsideReads:
    """The files outside a run's groups that read their changed members. Each file is read and
    parsed at most once for the whole run, however many groups ask."""

    def __init__(self) -> None:
        self._data: dict = {}  # Path -> bytes
        self._uses: dict = {}  # Path -> _Uses
        self._trees: dict = {}  # Path -> ast.Module, or None

    def refuse(self, changed: list, given: list, others: list, importing: Callable, shown: Callable) -> list:
        """Add a G2L101 at the member to each of the `changed` FileResults for every read of one of
        its members in a file of `given` or `others` (Paths outside the group, given or not); the
        files that read one. A given file that imported the group's files would be in the group;
        `importing(paths)`: those of `paths` (not given) that import them. `shown(path)`: as a
        finding shows it."""
        members = [(result, member) for result in changed for member in result.migration.members]
        names = {member.name for _, member in members}
        spelled = frozenset(member.name for _, member in members if member.module and lstm_name(member.name) is not None)
        modules = frozenset(member.name for _, member in members if member.module)
        interface = {change.function.rpartition(".")[2] for result in changed for change in result.migration.interface}
        # A given file that builds a GRU is a program of its own (its own group), not a reader.
        given = [path for path in given if GRU_NEEDLE not in self.contents(path) and self._spells(path, names)]
        others = [path for path in others if self._spells(path, names)]
        imports_group = importing(others) if others else set()
        found = []
        for path in given + others:
            uses = self._parsed_uses(path)
            reads = {(read.line, read.name): read for read in member_reads(uses, names, interface, path in imports_group, spelled, modules)}
            for read in reads.values():  # `agent.hidden = agent.hidden.detach()`: one line, one finding
                for result, member in members:
                    if member.name == read.name:
                        result.migration.findings.append(read_finding(member, read, shown(path), path not in others))
            if reads:
                found.append(path)
        return found

    def _spells(self, path, names: set) -> bool:
        data = self.contents(path)
        return any(name.encode() in data for name in names)

    def contents(self, path) -> bytes:
        """A file's bytes, read once for the run (b"" when it cannot be read)."""
        if path not in self._data:
            try:
                self._data[path] = path.read_bytes()
            except OSError:
                self._data[path] = b""
        return self._data[path]

    def tree(self, path) -> Optional[ast.Module]:
        """A file's `ast` (None when it does not parse), parsed once for the run."""
        if path not in self._trees:
            self._trees[path] = _parsed(self.contents(path))
        return self._trees[path]

    def _parsed_uses(self, path) -> "_Uses":
        if path not in self._uses:
            uses = _Uses()
            tree = self.tree(path)
            if tree is not None:
                uses.visit(tree)
            self._uses[path] = uses
        return self._uses[path]


def read_finding(member, read: MemberRead, shown: str, given: bool):
    """The G2L101 at a changed member (results.ChangedMember) for one read of it elsewhere."""
    why = "which imports none of the files migrated with this one" if given else "which was not given"
    where = f"{shown}, {why}, reads it at line {read.line} (`{read.code}`)"
    if member.sizes:
        what = f"`{member.name}` sizes the packed hidden state, which is allocated with twice it now, and {where}, so it would allocate the state with the GRU's size there"
    elif member.module:
        what = f"`{member.owner}.{member.name}` holds the recurrent module, which becomes an LSTM taking and returning (h, c), and {where}, so it would still be called with one tensor there"
    else:
        what = f"`{member.owner}.{member.name}` holds the hidden state, which becomes (h, c), and {where}, so it would still take one tensor there"
    remedy = "migrate that file by hand too" if given else "give that file too (or the project folder)"
    return new_finding("G2L101", f"{what}; {remedy}", member.line, member.column)
