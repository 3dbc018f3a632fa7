"""Names reached by a string, which the walk cannot follow: an attribute that holds the state set
by its name (`setattr(self, "h", ...)`, a name not written out), whose value there the walk never
sees; a buffer or a parameter registered by a name written out (`self.register_buffer("h",
torch.zeros(...))`) is followed, and holds one tensor: only the packed form keeps the state there; and a module's own names looked up by a string (`globals()[name]()`,
`getattr(sys.modules[__name__], name)`, `eval(name)(...)`) where a class or function whose contract
changes is defined or imported, so what is made or called through it is not followed. Each is a
finding (G2L101) at the place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from gru2lstm.boundary import describe, state_attributes, state_carriers
from gru2lstm.qualnames import module_imports
from gru2lstm.syntax import constant_string, slice_expression, string_head, string_key, walk
from gru2lstm.vocab import (
    ATTRIBUTE_DICT, DICT_WRITERS, EVAL_BUILTIN, LOADED_MODULES, LOOKUP_BY_STRING_TEXT, NAMESPACE_BUILTINS, SET_BY_NAME_METHODS, SET_BY_NAME_TEXT, SETATTR_BUILTIN, TORCH_ROOT,
)
from gru2lstm.rules.base import Invalid, Rule, Valid


class ByName(Rule):
    step = None
    uses = ("interface",)
    summary = (
        "an attribute that holds the state set by its name (a buffer registered by a name written out: in the tuple form), "
        "or a module's names looked up by a string where the contract changes, is a finding"
    )
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(4, 8)
                    self.register_buffer("h", torch.zeros(1, 1, 8))

                def forward(self, x):
                    y, self.h = self.core(x, self.h)
                    return y
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.LSTM(4, 8)
                    self.register_buffer("h", torch.zeros(1, 1, 2 * 8))

                def forward(self, x):
                    y, h_pair = self.core(x, self.h.chunk(2, dim=-1))
                    self.h = torch.cat(h_pair, dim=-1)
                    return y
            """,
            "packed",
        ),
    )
    invalid = (
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(4, 8)
                    setattr(self, "h", torch.zeros(1, 1, 8))

                def forward(self, x):
                    y, self.h = self.core(x, self.h)
                    return y
            """,
            "G2L101",
        ),
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(4, 8)
                    self.register_buffer("h", torch.zeros(1, 1, 8))

                def forward(self, x):
                    y, self.h = self.core(x, self.h)
                    return y
            """,
            "G2L101",
            "tuple",
        ),
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(4, 8)

                def forward(self, x, h):
                    return self.core(x, h)


            def make(name):
                return globals()[name]()
            """,
            "G2L101",
        ),
    )

    def apply(self, ctx, use) -> None:
        reported = set()
        for slot, _ in state_attributes(ctx.flow, ctx.solution):
            if not ctx.spells(slot.owner.rpartition(":")[0], SET_BY_NAME_TEXT):
                continue
            for place in set_by_name(ctx.flow.classes.get(slot.owner), slot.name):
                node = place.node
                if id(node) in reported:
                    continue
                reported.add(id(node))
                registered = isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                if registered and place.named:
                    # the walk binds the attribute to what is registered there (calls.py): one tensor, as packed holds it
                    if not ctx.packed:
                        ctx.find("G2L101", node, (
                            f"`{ctx.code(node)}` registers `self.{slot.name}`, which holds the hidden state, as a buffer or a "
                            f"parameter, which holds one tensor, never the pair (h, c); use --state packed, or keep the state "
                            f"in a plain attribute (`self.{slot.name} = ...`)"
                        ))
                    continue
                buffer = "; a buffer or a parameter holds one tensor, never the pair (h, c)" if registered and not ctx.packed else ""
                sets = f"sets `self.{slot.name}`, which holds the hidden state, by its name" if place.named else (
                    f"sets an attribute by a name the engine cannot read, and `self.{slot.name}` holds the hidden state"
                )
                ctx.find("G2L101", node, (
                    f"`{ctx.code(node)}` {sets}, so the engine does not see the value it may hold from there{buffer}; keep the "
                    f"state in a plain attribute (`self.{slot.name} = ...`), or migrate it by hand"
                ))
        changed = _changed_by_module(ctx.flow, ctx.solution)
        for module, (name, carriers) in changed.items():
            if not ctx.spells(module, LOOKUP_BY_STRING_TEXT):
                continue
            for node in _looked_up_by_string(ctx.flow.modules[module]):
                ctx.find("G2L101", node, (
                    f"`{ctx.code(node)}` looks names of this module up by a string, and `{name}()` now takes or returns (h, c) "
                    f"({describe(carriers)}); the engine cannot follow what is made or called through it; use the class or "
                    "function by its name, or migrate those calls by hand"
                ))


@dataclass
class SetByName:
    """A place in a class that may set one of its attributes by a string."""

    node: cst.CSTNode  # the call, or the subscript stored into
    value: Optional[cst.BaseExpression]  # what is set there, when one expression is
    named: bool  # the name is written out (else only a name not written out may be it)


def set_by_name(owner, name: str) -> list:
    """Each place in a class that may set its attribute `name` by a string: `setattr(self, "name",
    ...)`, `self.register_buffer("name", ...)`, `self.__dict__["name"] = ...`, the same with a name
    that is not written out and may be `name`, and `vars(self).update(...)`."""
    if owner is None:
        return []
    found = []
    for node in walk(owner):
        if isinstance(node, cst.Call):
            func = node.func
            method = isinstance(func, cst.Attribute) and func.attr.value in SET_BY_NAME_METHODS
            builtin = isinstance(func, cst.Name) and func.value == SETATTR_BUILTIN
            args = node.args[1:] if builtin else node.args
            if (method or builtin) and args and _may_name(args[0].value, name):
                found.append(SetByName(node, args[-1].value, constant_string(args[0].value) is not None))
            elif isinstance(func, cst.Attribute) and func.attr.value in DICT_WRITERS and _attribute_namespace(func.value):
                found.append(SetByName(node, None, False))
        elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            for target in [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]:
                if isinstance(target, cst.Subscript) and _attribute_namespace(target.value) and len(target.slice) == 1 and _may_name(slice_expression(target.slice[0]), name):
                    found.append(SetByName(target, node.value, string_key(target) is not None))
    return found


def _may_name(key: cst.BaseExpression, name: str) -> bool:
    """May the string `key` evaluates to be `name`? Its text when written out, else the text it
    starts with (`f"fc{i}"`, `"h_" + mode`) when it has one."""
    known = constant_string(key)
    return known == name if known is not None else name.startswith(string_head(key))


def _attribute_namespace(node: cst.BaseExpression) -> bool:
    """`x.__dict__` or `vars(x)`: the attributes of an object as a dict."""
    if isinstance(node, cst.Attribute):
        return node.attr.value == ATTRIBUTE_DICT
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in NAMESPACE_BUILTINS and bool(node.args)


def _changed_by_module(flow, solution) -> dict:
    """Module key -> (a changed function's name, its carriers), for each module that defines or
    imports a class or function whose contract changes."""
    changed = {}
    for key, carriers in state_carriers(flow, solution).items():
        info = flow.functions[key]
        name = f"{info.class_name.rpartition(':')[2]}.{info.node.name.value}" if info.class_name else info.node.name.value
        defined = (info.class_name or "").rpartition(":")[2] or info.node.name.value
        changed.setdefault(info.module, (name, carriers))
        for module, names in flow.module_imports.items():
            if any(member.key == info.module and member.name == defined for member in names.values()):
                changed.setdefault(module, (name, carriers))
    return changed


def _looked_up_by_string(module: cst.Module) -> list:
    """`globals()`, `locals()`, `vars()`, `sys.modules` and `eval(name)(...)` in a module; not an
    `eval` of a text that starts with a name of torch (`eval("nn." + cfg.act)()`), nor torch's own
    module read from `sys.modules["torch.nn"]`, which look up torch's names, none of the module's own."""
    found = []
    imports = module_imports(module)
    nodes = list(walk(module))
    torch_modules = {id(node.value) for node in nodes if type(node) is cst.Subscript and (string_key(node) or "").partition(".")[0] == TORCH_ROOT}
    for node in nodes:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in NAMESPACE_BUILTINS and not node.args:
            found.append(node)
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Call) and isinstance(node.func.func, cst.Name) and node.func.func.value == EVAL_BUILTIN:
            root, dot, _ = string_head(node.func.args[0].value).partition(".") if node.func.args else ("", "", "")
            if not (dot and imports.get(root.strip(), "").partition(".")[0] == TORCH_ROOT):
                found.append(node.func)  # `eval(name)(...)`: a name made into what it names, and called
        elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and (node.value.value, node.attr.value) == LOADED_MODULES and id(node) not in torch_modules:
            found.append(node)
    return found
