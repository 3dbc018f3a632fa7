"""The program as the walk sees it: the records flow.py makes and solve.py, boundary.py and the rules read.

ProgramFlow holds everything found over the modules migrated together (functions, classes,
bindings, consumptions, unpackings, annotations, …) and answers what a top-level name of a module
is, following imports between modules of the program. The records are plain data; no walking
happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import libcst as cst

from gru2lstm.syntax import module_level_names
from gru2lstm.values import LabelKind, Slot, SlotKind, Value, VSlot, Word
from gru2lstm.vocab import PROPERTY_ACCESSORS, PROPERTY_DECORATORS


class BindingKind(Word):
    """How a slot receives a value."""

    ASSIGN = "assign"  # `a = v`, `self.a = v`, `d[k] = v`, `with v as a`
    RETURN = "return"  # `return v` (and `yield v`, into the elements of the return)
    ARG = "arg"  # an argument given to a parameter of a followed call
    APPEND = "append"  # `a.append(v)`
    STORE = "store"  # `a.setdefault(k, v)`, `a[i].copy_(v)`
    LOOP = "loop"  # the target of a for loop or a comprehension
    DEFAULT = "default"  # a parameter's default, a class-level field's value
    FIELD = "field"  # a field of a dataclass or namedtuple, set by its constructor or replace()
    JOIN = "join"  # the definitions a name may have at one read, tied together


class Use(Word):
    """How a value is consumed, where it is not bound to a slot (Consumption.context)."""

    ISNONE = "isnone"  # `h is None`
    READ = "read"  # looked at only: compared, measured, an argument of a creation
    # An argument of a tensor function or method whose result is computed from another tensor
    # (`m` in `h.mul(m)`, `torch.addcmul(z, h, m)`): read as features, unless that result is a
    # state, where its numbers would go into both halves (rules/pairs.read_again).
    OPERAND = "operand"
    SHAPED = "shaped"  # the model of a new tensor: `zeros_like(h)`, `h.new_zeros(...)`
    # A size of a new tensor or an argument of a torch.nn module's constructor (`torch.zeros(1, n, H)`,
    # `nn.Linear(H, 2)`): read like READ, and never a state itself (rules/features.StateAsSize).
    SIZE = "size"
    TEST = "test"  # tested for truth
    INDEX = "index"  # an index of a subscript
    DISCARD = "discard"  # an expression statement, `_ = ...`
    CONTAINER = "container"  # given to a container constructor with what it holds unknown
    AUGASSIGN = "augassign"  # `h += x`
    RAISE = "raise"  # in a raise or assert
    UNKNOWN = "unknown"  # given to a call the walk cannot follow
    METHOD = "method"  # the object of a method no table lists (`h.pow(2)`): reported when a state
    # Handed to a library function or module constructor that may call it (`checkpoint(self.gru, x, h)`,
    # `nn.Sequential(enc, nn.GRU(4, 8))`): reported only when it is the recurrent module; else as READ.
    HANDED = "handed"
    WRITTEN = "written"  # given as `out=` to a function that writes its result over it (`torch.mul(h, m, out=h)`)
    OTHER = "other"  # anything else
    ITERATE_KEY = "iterate-key"  # a dict whose values are iterated
    ITERATE_POS = "iterate-pos"  # a tuple whose items are iterated

    @classmethod
    def iterating(cls, label: LabelKind) -> "Use":
        """How a container whose parts under `label` are iterated is used."""
        return cls.ITERATE_KEY if label == LabelKind.KEY else cls.ITERATE_POS


class FunctionKey(NamedTuple):
    """A function of the program: (class key of a method, else None; its name; its module key)."""

    owner: Optional[str]
    name: str
    module: str


class Parameter(NamedTuple):
    """A parameter of a function of the program, by name (self excluded)."""

    name: str
    node: cst.Param


class UnpackedElement(NamedTuple):
    """One element of a tuple target: its position, its node, and the slot it binds (None for a
    starred element)."""

    position: int
    node: cst.BaseExpression
    slot: Optional[Slot]


class DefinitionKind(Word):
    CLASS = "class"
    FUNCTION = "function"
    MODULE = "module"


class Definition(NamedTuple):
    """What a top-level name of a module of the program is (ProgramFlow.lookup)."""

    kind: DefinitionKind
    key: object  # the class key, FunctionKey or module key


@dataclass
class FunctionInfo:
    key: FunctionKey
    node: cst.FunctionDef
    class_name: Optional[str]  # the class key ("module:Class") of a method
    self_name: Optional[str]
    params: list  # [Parameter], without self
    # a lambda held in an attribute (`self.blank = lambda n: ...`): the statement that stores it;
    # `node` is then a def around the lambda's own parameters and body, kept nowhere in the tree
    held_in: Optional[cst.SimpleStatementLine] = None

    @property
    def module(self) -> str:
        """The key of the module it is defined in."""
        return self.key.module

    @property
    def takes_class(self) -> bool:
        """A classmethod: its first parameter is the class, given by any call (`Buffer.make(n)` too)."""
        return any(isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod" for d in self.node.decorators)

    @property
    def variadic(self) -> bool:
        """Does it take *args or **kwargs (so any call may fit it)?"""
        params = self.node.params
        return isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None

    def parameters_of(self, keywords: list) -> list:
        """The parameter each argument of a call goes to, given each one's keyword (None:
        positional); None where no parameter takes it."""
        by_name = dict(self.params)
        positional = iter(param for _, param in self.params)
        return [by_name.get(keyword) if keyword is not None else next(positional, None) for keyword in keywords]

    def takes(self, parameters: list) -> bool:
        """Can a call whose arguments go to `parameters` (parameters_of) run it: each argument has
        a parameter, and each parameter without a default has an argument?"""
        given = {id(param) for param in parameters}
        return None not in parameters and all(param.default is not None or id(param) in given for _, param in self.params)

    @property
    def is_property(self) -> bool:
        """Is it a getter, run by reading an attribute: `@property`, `@functools.cached_property`?"""
        return any(_last_name(d.decorator) in PROPERTY_DECORATORS for d in self.node.decorators)

    @property
    def is_property_accessor(self) -> bool:
        """Is it another method of a property (`@hidden.setter`), which has the getter's name?"""
        return any(isinstance(d.decorator, cst.Attribute) and d.decorator.attr.value in PROPERTY_ACCESSORS for d in self.node.decorators)

    @property
    def display_name(self) -> str:
        """`Class.method` or `function`, as messages name it."""
        name = self.node.name.value
        return f"{self.class_name.rpartition(':')[2]}.{name}" if self.class_name else name


@dataclass(eq=False)
class Binding:
    target: Slot
    value: Value
    kind: BindingKind
    statement: Optional[cst.CSTNode]  # the statement (or Arg) that makes the binding
    target_node: Optional[cst.CSTNode] = None  # the Name/Attribute/Subscript written, if any
    function: Optional[FunctionInfo] = None


@dataclass(eq=False)
class Consumption:
    value: Value
    context: Use
    node: cst.CSTNode  # the expression consumed
    why: str = ""
    place: Optional[str] = None  # the file, not migrated with this one, of the code it goes to
    inside: str = ""  # the code of this file the walk does not follow that it goes to (`(h := self.cell(x, h))`)


@dataclass(eq=False)
class Unpacking:
    """`a, b, c = value`: the tuple target, the value, and each element's slot."""

    target: cst.BaseExpression  # cst.Tuple or cst.List
    value: Value
    elements: list  # [UnpackedElement]
    statement: cst.CSTNode
    function: Optional[FunctionInfo]


@dataclass(frozen=True)
class FileAccess:
    """A call that writes a value to a file (`torch.save(obj, path)`, `pickle.dumps(obj)`) or reads
    one back (`torch.load(path)`); what it writes or reads is held in `slot` (a FILE NodeSlot)."""

    node: cst.Call
    slot: object
    saves: bool  # a save; else a load


@dataclass(eq=False)
class Def:
    name: str
    function: Optional[FunctionInfo]
    node: cst.CSTNode
    is_param: bool


@dataclass
class ProgramFlow:
    """Everything the walk found, over every module migrated together (one file, or a group)."""

    modules: dict = field(default_factory=dict)  # module key -> cst.Module
    module_parents: dict = field(default_factory=dict)  # module key -> its parent map (node -> parent)
    function_bodies: dict = field(default_factory=dict)  # function key -> the nodes of its body, walked once (summaries.py)
    functions: dict = field(default_factory=dict)  # key -> FunctionInfo (added by add_function)
    methods_by_name: dict = field(default_factory=dict)  # method name -> [keys of the program's methods so named]
    property_names: set = field(default_factory=set)  # names of the program's properties
    # [(name, Attribute node, the object's value, written)]: reads and writes of an attribute so named on an object the walk
    # cannot tie to a class, or through a property setter (accessors.py reports them)
    property_access: list = field(default_factory=list)
    iterations: list = field(default_factory=list)  # [(VSlot, node)] objects iterated, of no class with __iter__ known
    classes: dict = field(default_factory=dict)  # class key -> cst.ClassDef
    bases: dict = field(default_factory=dict)  # class key -> [class keys of its bases in the program]
    library_bases: dict = field(default_factory=dict)  # class key -> [qualified names of its bases from a library]
    typed_dicts: set = field(default_factory=set)  # keys of the classes deriving from TypedDict itself
    module_imports: dict = field(default_factory=dict)  # module key -> {local name: Member}
    dotted_imports: dict = field(default_factory=dict)  # module key -> {"a.b": Member} of its `import a.b` of the program
    library_imports: dict = field(default_factory=dict)  # module key -> {local name: qualified name} of what it imports from libraries
    defs: dict = field(default_factory=dict)  # def id -> Def
    # def id -> the order the walk first met it: def ids are addresses, so their own order changes
    # from run to run, and a name read with several definitions is named by the first met
    def_order: dict = field(default_factory=dict)
    bindings: list = field(default_factory=list)
    consumptions: list = field(default_factory=list)
    unpackings: list = field(default_factory=list)
    returns: list = field(default_factory=list)  # [(FunctionInfo, cst.Return, Value)]
    calls: list = field(default_factory=list)  # [VCallOf]
    annotations: list = field(default_factory=list)  # [(Slot, cst.Annotation, position or None)]
    slot_nodes: list = field(default_factory=list)  # [(Slot, node)] every read and write
    named_key_reads: list = field(default_factory=list)  # [Slot] read by a key written out (`d["h"]`)
    containers: set = field(default_factory=set)  # slots known to be lists/dicts
    dicts: set = field(default_factory=set)  # slots bound to a dict display or comprehension (iterated: its keys)
    value_views: list = field(default_factory=list)  # [(slot, LabelKind.KEY | POS)]: its dict values / tuple items iterated
    reordered: list = field(default_factory=list)  # [Slot] of lists whose items a method moves in place (`.reverse()`)
    mapped_iterables: set = field(default_factory=set)  # ids of the iterables a comprehension maps item by item, each kept (values.mapped_slot)
    iterated_elements: list = field(default_factory=list)  # [VSlot] iterated by its elements, not known there as a dict
    mirrored_keys: dict = field(default_factory=dict)  # id(dict comprehension by key) -> [slots of the dicts whose keys it has]
    indexes: list = field(default_factory=list)  # [VIndex]
    arithmetic: list = field(default_factory=list)  # [VArith]
    along_hidden: list = field(default_factory=list)  # [VDerived] of a torch function acting along the last dimension
    changed_arguments: dict = field(default_factory=dict)  # id(library call) -> the argument expressions it changes in place
    broadcast_arguments: list = field(default_factory=list)  # [(argument, the elementwise call it broadcasts in)]: `w` of `h.lerp(h0, w)`
    helper_dims: list = field(default_factory=list)  # [(VDerived, PassThrough)] of a helper whose way back names a dimension
    helper_chains: dict = field(default_factory=dict)  # id(helper call) -> PassThrough.chain of the one parameter it gives back
    pieces: list = field(default_factory=list)  # [VContainer] of `t.unbind(1)`, `t.split(1, dim=1)`, `torch.chunk(t, n)`
    references: list = field(default_factory=list)  # [(Name/Attribute node, qualified name)] of GRU names
    attribute_owners: dict = field(default_factory=dict)  # attribute name -> classes that have it
    guessed_attributes: list = field(default_factory=list)  # [(Attribute node, its object's value, owner, name)] tied by name alone
    guessed_methods: dict = field(default_factory=dict)  # id(`obj.name` called) -> (that node, key of the one method so named)
    unguessed: frozenset = frozenset()  # ids of the Attribute nodes not to tie by name (guessed_owners.misguessed)
    # keys of the factories of a fresh tensor whose calls all make a state: bound as any function's
    # (the factory gives the pair), not made at each call (summaries.fresh_factory)
    whole_factories: frozenset = frozenset()
    fresh_calls: dict = field(default_factory=dict)  # factory key -> ids of its calls, each a creation made there
    fresh_sizes: dict = field(default_factory=dict)  # id(factory call) -> the argument that gives its last size, or None
    instance_class: dict = field(default_factory=dict)  # slot -> key of the program class it holds
    # class key -> [FunctionInfo] of the lambdas its attributes hold; module key -> those its names hold (definitions.py)
    held_lambdas: dict = field(default_factory=dict)
    # AttrSlot -> ([name], method) of a lambda an attribute holds that reads those locals of the method around it
    local_reading_lambdas: dict = field(default_factory=dict)
    wrappers: set = field(default_factory=set)  # slots that hold a module wrapper (vocab.MODULE_WRAPPERS)
    wrapper_calls: set = field(default_factory=set)  # ids of the wrapper calls walked
    reentrant_checkpoints: set = field(default_factory=set)  # ids of what a reentrant `checkpoint(f, ...)` runs (f)
    registered: set = field(default_factory=set)  # AttrSlots registered as a buffer or parameter (`self.register_buffer("h", E)`)
    parameters: set = field(default_factory=set)  # ids of the `nn.Parameter(t)` calls walked: each keeps t
    namedtuples: dict = field(default_factory=dict)  # class key -> fields, of namedtuple classes
    def_annotations: dict = field(default_factory=dict)  # def id -> annotation expression of that parameter
    outside_calls: dict = field(default_factory=dict)  # id(call node) -> where its callee comes from, outside the program
    # `rollout(self, h)` of a function from a project file not migrated with this one: (the argument
    # node, the class key of `self`, why, that file); an instance whose contract changes escapes there
    self_escapes: list = field(default_factory=list)
    outside_values: dict = field(default_factory=dict)  # slot -> where the object it holds comes from, outside the program
    called: set = field(default_factory=set)  # keys of the functions some followed call runs
    runs: dict = field(default_factory=dict)  # id(call, property read or index) -> keys of the program's functions it runs
    pass_through: dict = field(default_factory=dict)  # function key -> summaries.PassThrough (the parameters it gives back, kind), or None
    feature_parameters: dict = field(default_factory=dict)  # function key -> {name: summaries.FeatureParameter}
    library_layers: set = field(default_factory=set)  # AttrSlots every store of which makes a torch.nn layer (qualnames.library_layer)
    instantiated: dict = field(default_factory=dict)  # program class key -> [the followed calls that make one]
    files: list = field(default_factory=list)  # [FileAccess] saves and loads (`torch.save(obj, p)`, `torch.load(p)`)
    star_calls: list = field(default_factory=list)  # [(call node, FunctionInfo)] followed calls with * or ** arguments
    spread: list = field(default_factory=list)  # [Slot] spread over a followed call's parameters (`f(*batch())`)
    torchscript: dict = field(default_factory=dict)  # function key -> its TorchScript decorator, or how it is handed to `torch.jit.script`
    scripted_unknown: list = field(default_factory=list)  # code of the `torch.jit.script(x)` calls whose `x` the walk cannot identify
    registries: object = None  # registries.Registries, found before the walk (flow.collect)
    class_keeping_decorators: set = field(default_factory=set)  # ids of class decorators that keep the class nowhere (`@dataclass`)
    calls_by_result: Optional[dict] = None  # CallResultSlot -> its VCallOf, made at the first ask (after the walk)
    # made at the first ask (after the walk) from slot_nodes: id(node) -> [slots it reads or writes], slot -> its first node
    slots_by_node: Optional[dict] = None
    first_mentions: Optional[dict] = None

    def call_of_result(self, slot):
        """The call (VCallOf) whose result is `slot`, or None."""
        if self.calls_by_result is None:
            self.calls_by_result = {call.result: call for call in self.calls}
        return self.calls_by_result.get(slot)

    def slots_at(self, node) -> list:
        """The slots `node` reads or writes, in the order of `slot_nodes`."""
        if self.slots_by_node is None:
            self._index_mentions()
        return self.slots_by_node.get(id(node), [])

    def first_mention(self) -> dict:
        """slot -> the first node of `slot_nodes` that reads or writes it, in the order first met."""
        if self.first_mentions is None:
            self._index_mentions()
        return self.first_mentions

    def _index_mentions(self) -> None:
        self.slots_by_node, self.first_mentions = {}, {}
        for slot, node in self.slot_nodes:
            self.slots_by_node.setdefault(id(node), []).append(slot)
            self.first_mentions.setdefault(slot, node)

    def origin(self, value) -> Optional[str]:
        """Where a call or value the engine cannot follow comes from, when that is a file outside
        the program (`self.policy.initial_state(2)` after `self.policy = Policy()` of such a file)."""
        node = getattr(value, "node", None)
        if node is not None and id(node) in self.outside_calls:
            return self.outside_calls[id(node)]
        value = getattr(value, "func", value)
        slot = value.slot if isinstance(value, VSlot) else None
        while slot is not None:
            if slot in self.outside_values:
                return self.outside_values[slot]
            slot = slot.base if slot.kind == SlotKind.CHILD else None
        return None

    def lookup(self, module: str, name: str, seen: frozenset = frozenset()) -> Optional[Definition]:
        """What `name` is at the top of `module`, or None; names a module imports from another
        module of the program are followed."""
        key = class_key(module, name)
        if key in self.classes or key in self.namedtuples:
            return Definition(DefinitionKind.CLASS, key)
        function = FunctionKey(None, name, module)
        if function in self.functions:
            return Definition(DefinitionKind.FUNCTION, function)
        member = self.module_imports.get(module, {}).get(name)
        if member is None or (module, name) in seen:
            return None
        if member.name is None:
            return Definition(DefinitionKind.MODULE, member.key)
        return self.lookup(member.key, member.name, seen | {(module, name)})

    def add_function(self, info: FunctionInfo) -> None:
        if info.key in self.functions and info.is_property_accessor:
            return  # reading `agent.hidden` runs the getter; a write through the setter is reported (accessors.py)
        if info.class_name is not None and info.key not in self.functions:  # a method defined again keeps its key once
            self.methods_by_name.setdefault(info.key.name, []).append(info.key)
        if info.class_name is not None and info.is_property:
            self.property_names.add(info.key.name)
        self.functions[info.key] = info

    def forward_of(self, owner: str) -> Optional[FunctionInfo]:
        """What calling an instance of `owner` runs: its forward() (a module) or __call__."""
        return self.method(owner, "forward") or self.method(owner, "__call__")

    def method(self, owner: str, name: str, seen: frozenset = frozenset()) -> Optional[FunctionInfo]:
        """The method `name` of class `owner`, or of one of its bases in the program."""
        found = self.functions.get(FunctionKey(owner, name, owner.rpartition(":")[0]))
        if found is not None or owner in seen:
            return found
        for base in self.bases.get(owner, ()):
            found = self.method(base, name, seen | {owner})
            if found is not None:
                return found
        return None

    def setter_store(self, getter: FunctionInfo) -> Optional[str]:
        """The attribute of `self` that the setter of the property `getter` stores its value in, when
        that is all it does (`@memory.setter def memory(self, value): self._memory = value`) and no
        subclass has a property of that name: a write through it is a write of that attribute."""
        name = getter.key.name
        if self.overrides(getter.class_name, name):
            return None
        members = self.classes[getter.class_name].body.body
        if sum(name in module_level_names(cst.Module(body=[item])) for item in members) != 2:
            return None  # a deleter, a second setter or a rebinding of the property does more than store
        for item in members:
            decorators = [d.decorator for d in item.decorators] if isinstance(item, cst.FunctionDef) else []
            if not any(isinstance(d, cst.Attribute) and d.attr.value == "setter" and isinstance(d.value, cst.Name) and d.value.value == name for d in decorators):
                continue
            params = item.params
            body = item.body.body if isinstance(item.body, cst.IndentedBlock) else item.body.body
            line = body[0] if len(body) == 1 else None
            small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else line
            if len(params.params) != 2 or params.star_arg is not cst.MaybeSentinel.DEFAULT or params.kwonly_params or params.star_kwarg is not None:
                return None
            self_name, value = (param.name.value for param in params.params)
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Name) and small.value.value == value):
                return None
            target = small.targets[0].target
            stored = isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == self_name
            return target.attr.value if stored and target.attr.value != name else None
        return None

    def ancestors(self, owner: str) -> set:
        """The program's classes `owner` derives from, through its bases' bases."""
        found, todo = set(), list(self.bases.get(owner, ()))
        while todo:
            base = todo.pop()
            if base not in found and base != owner:
                found.add(base)
                todo.extend(self.bases.get(base, ()))
        return found

    def library_base(self, owner: str, seen: frozenset = frozenset()) -> Optional[str]:
        """The qualified name of a library class that `owner` derives from (through its bases in
        the program too); None when all its bases are the program's, torch's or the standard library's."""
        if owner in seen:
            return None
        found = self.library_bases.get(owner)
        if found:
            return found[0]
        return next((b for b in (self.library_base(base, seen | {owner}) for base in self.bases.get(owner, ())) if b), None)

    def is_typed_dict(self, owner: str, seen: frozenset = frozenset()) -> bool:
        """Does `owner` derive from TypedDict (through its bases in the program too): a call of it
        makes a dict, whose values are read by key."""
        if owner in self.typed_dicts:
            return True
        return owner not in seen and any(self.is_typed_dict(base, seen | {owner}) for base in self.bases.get(owner, ()))

    def field_owner(self, owner: str, name: str, seen: frozenset = frozenset()) -> Optional[str]:
        """The class that declares the field `name` (`hidden: torch.Tensor` in its body): `owner`,
        else the first of its bases in the program that does (a TypedDict's inherited field)."""
        declaring = self.classes.get(owner)
        if declaring is not None and any(
            isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.target.value == name
            for item in declaring.body.body if isinstance(item, cst.SimpleStatementLine) for small in item.body
        ):
            return owner
        if owner in seen:
            return None
        return next((found for found in (self.field_owner(base, name, seen | {owner}) for base in self.bases.get(owner, ())) if found), None)

    def ran(self, node: cst.CSTNode, key: FunctionKey) -> None:
        """`node` (a call, a property read, an index) runs the program's function `key`."""
        self.called.add(key)
        self.runs.setdefault(id(node), set()).add(key)

    def overrides(self, owner: str, name: str) -> list:
        """The methods `name` of the program's subclasses of `owner` (transitively): `self.name(...)`
        in a method of `owner` runs one of them when `self` is an instance of that subclass."""
        found, todo, seen = [], [owner], {owner}
        while todo:
            base = todo.pop()
            for cls, bases in self.bases.items():
                if base in bases and cls not in seen:
                    seen.add(cls)
                    todo.append(cls)
                    method = self.functions.get(FunctionKey(cls, name, cls.rpartition(":")[0]))
                    if method is not None:
                        found.append(method)
        return found


def from_where(place: Optional[str]) -> str:
    """How a finding about a call the engine cannot follow ends."""
    if place is None:
        return ", which the engine cannot follow"
    return f", which comes from {place}, a file not migrated with this one"


def follow_remedy(place: Optional[str], inside: str = "") -> str:
    """What the user can do about a value that reaches code the engine cannot follow (the last
    clause of such a finding, after `from_where`). `inside`: that code is a part of this file the
    walk does not follow (a lambda, a nested function, a walrus), which no other file can help with."""
    if place is None and inside:
        return f"migrate this use by hand, or make it in a statement of its own, outside {inside}"
    if place is None:
        return "migrate this use by hand, or give the file that defines the code it reaches in the same run"
    return "give that file in the same run too"


def give_source(place: str) -> str:
    """The remedy clause for a value made by a function of `place`, a file the group can take in."""
    return f"give {place}, where it comes from, in the same run"


# What the user can do about a use of the state that no rule of the table covers.
BY_HAND = "migrate this use by hand so that it handles the pair (h, c)"


def class_key(module: str, name: str) -> str:
    """Classes of different modules may share a name; their keys do not."""
    return f"{module}:{name}"


def _last_name(node: cst.BaseExpression) -> Optional[str]:
    """`property` of `property` or `functools.property`; None for any other expression."""
    if isinstance(node, cst.Name):
        return node.value
    return node.attr.value if isinstance(node, cst.Attribute) else None
