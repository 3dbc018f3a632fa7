"""Every torch, numpy, GRU and LSTM word the engine knows, in one place.

The analysis (expressions.py, calls.py, definitions.py, syntax.py), the solver (solve.py), the
rules (rules/), the output check (lstm_check.py), the prefilter and the names the migration writes
(names.py) read their vocabulary from here; none has a table of its own. Python's own words the analysis
relies on (copy, dataclasses, namedtuple, the builtins it follows) are here too.
"""

from __future__ import annotations

import re
import sys

# ------------------------------------------------------------------ the recurrent modules
GRU_KIND = "GRU"  # a sequence GRU: returns (output, h_n)
CELL_KIND = "GRUCell"  # a GRU cell: returns h
STATE_RANKS = {GRU_KIND: 3, CELL_KIND: 2}  # the rank of each one's state: (layers, batch, hidden) and (batch, hidden)
RECURRENT_KINDS = (GRU_KIND, CELL_KIND)
# Methods a class defines to run on every write or read of its attributes (boundary.py: not followed).
OWN_ACCESS_HOOKS = ("__setattr__", "__getattribute__")
# Where torch spells its recurrent classes: torch.nn, the package of its modules, and the module that defines them.
TORCH_ROOT = "torch"
TORCH_NN_MODULE = "nn"  # torch's module of layers, as another module's attribute (`util.nn.GRU` after `import util`)
TORCH_RECURRENT_PATHS = ("torch.nn", "torch.nn.modules", "torch.nn.modules.rnn")
RECURRENT = {f"{path}.{kind}": kind for path in TORCH_RECURRENT_PATHS for kind in (GRU_KIND, CELL_KIND)}  # qualified name of a torch GRU -> its kind
# The keywords a recurrent call takes its hidden state by (else it is the second positional).
HIDDEN_KEYWORDS = ("hx", "h_0", "hidden")
# The keyword a recurrent call takes its input by (else it is the first positional).
INPUT_KEYWORDS = ("input",)
# The bytes every file that can construct a torch GRU holds (the prefilter's first step), and what
# must follow them: the call's `(` or an import's `as` (spaces, line continuations and comments
# may come between).
GRU_NEEDLE = b"GRU"
# Names reached by a string (rules/by_name.py): a module's namespace, a name evaluated, an
# attribute of a module registered by its name.
NAMESPACE_BUILTINS = {"globals", "locals", "vars"}  # called with no argument: the names of the scope
EVAL_BUILTIN = "eval"
SET_BY_NAME_METHODS = {"register_buffer", "register_parameter"}
SETATTR_BUILTIN = "setattr"
ATTRIBUTE_DICT = "__dict__"  # `self.__dict__["h"] = ...`, and `vars(self)`: an object's attributes as a dict
DICT_WRITERS = {"update", "setdefault"}  # what stores into such a dict by a key
LOADED_MODULES = ("sys", "modules")  # `sys.modules[__name__]`: a module's namespace by a string
MODULE_NAME = "__name__"
# What a source holding one of the above spells (a cheap test before the tree is walked for them).
# In these patterns a word not preceded by a name's character or a dot (`setattr(`, not `x.setattr(`)
# is spelled with the look-behind after the word: `re` then scans for the word's letters, where a
# leading look-behind is tried at every position of the source (three times slower on a big file).
SET_BY_NAME_TEXT = r"register_buffer|register_parameter|(?:setattr|vars)(?<![\w.]setattr)(?<![\w.]vars)\s*\(|__dict__"
LOOKUP_BY_STRING_TEXT = (
    r"(?:globals|locals|vars|eval)(?<![\w.]globals)(?<![\w.]locals)(?<![\w.]vars)(?<![\w.]eval)\s*\(|sys(?<!\wsys)\s*\.\s*modules\b"
)
PARAMETER_CLASSES = {"torch.nn.Parameter", "torch.nn.parameter.Parameter"}  # a learned tensor, as an initial state
PARAMETER_DATA_KEYWORD = "data"  # the tensor a Parameter wraps, when given by name
IMPORT_MODULE = "import_module"  # `importlib.import_module("pkg.model")`: an import by a literal name
IMPORT_PACKAGE = "package"  # `importlib.import_module(".nn", package="torch")`: what a relative name is under
IMPORT_BUILTIN = "__import__"  # the builtin that imports by a name, as `importlib.import_module` does
IMPORT_NAME = "name"  # `importlib.import_module(name="pkg.model")`: the name imported, by keyword
IMPORT_LEVEL = "level"  # `__import__(name, globals, locals, fromlist, level)`: the dots of a relative name
IMPORT_FUNCTION_MODULES = ("importlib", "builtins")  # `from importlib import import_module as load` names it anew
IMPORT_FROM_LIST = "fromlist"  # `__import__("torch.nn", fromlist=[name])` gives torch.nn itself, not torch
# Files that may name a class for a loader to build by its dotted name (Hydra's `_target_:
# pkg.models.Net`, gin's `@Net`): a class named there can be what an import by a computed name loads.
CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".gin", ".conf"})
GRU_CONSTRUCTION_BYTES = rb"GRU(?:Cell)?(?:\s|\\|#[^\n]*)*(?:\(|as\b)"
# The bytes of the GRU class named as a value a name may hold (`RNN = nn.GRU`, `class Core(GRU)`,
# `{"gru": nn.GRU}`, `from torch.nn import GRU`, `getattr(nn, "GRU")`): an attribute, or a bare name
# after an operator, bracket or `import`, not set by keyword (`GRU=4` in prose), or the name as a
# string inside `getattr(`. Prose in comments and strings rarely has these shapes.
GRU_CLASS_VALUE_BYTES = rb"(?:\.|[=(\[{:,]\s*|\bimport\s+)GRU(?:Cell)?\b(?!\s*=[^=])|getattr\([^()\n]*[\"']GRU(?:Cell)?[\"']"
# A torch.nn class read by a name not written out (`getattr(nn, cfg.rnn_type)`, `getattr(torch.nn,
# "GRU" + "Cell")`): it may be a GRU (classes_by_value.py says where its module takes a state).
# Or taken from its namespace by a key (`vars(nn)[cfg.rnn]`, `nn.__dict__["GRUCell"]`).
# Each pattern searched apart, from a literal (an alternation first makes `re` try every position),
# paired with the needle of NAME_READ_NEEDLES that every match of it spells (or None): a file without
# that needle is not searched for it (each search is one more pass over a big library's bytes).
CLASS_BY_VALUE_BYTES = (
    (b"getattr(", rb"getattr\(\s*[\w.]*nn\s*,"), (b"vars(", rb"vars\(\s*[\w.]*nn\s*\)\s*(?:\[|\.\s*(?:get|items|values|copy)\s*\()"),
    (b"__dict__", rb"nn\s*\.\s*__dict__\s*(?:\[|\.\s*(?:get|items|values|copy)\s*\()"), (b"__getattribute__", rb"nn\s*\.\s*__getattribute__\s*\("),
    (b"getattr(", rb"getattr\(\s*[\w.]*(?:import_module|__import__)\s*\(\s*f?['\"]torch"),  # `getattr(importlib.import_module("torch.nn"), name)`
)
# Other ways to read a class of torch.nn by a name (classes_by_value.py, prefilter.py): its text
# evaluated (`eval("nn." + name)`, `exec(f"Cell = nn.{name}")`), `operator.attrgetter(name)(nn)`, the
# namespace listed (`vars(nn).items()`, `inspect.getmembers(nn)`), torch.nn read from `sys.modules`.
EXEC_BUILTIN = "exec"
EVALUATING_BUILTINS = {EVAL_BUILTIN, EXEC_BUILTIN}
ATTRIBUTE_GETTER = "operator.attrgetter"
ATTRIBUTE_CHAIN_READER = "functools.reduce"  # `functools.reduce(getattr, ["nn", name], torch)`: attributes read in turn
NAMESPACE_LISTINGS = {"items", "values", "copy"}  # `vars(nn).items()`: every class with its name
MEMBERS_FUNCTION = "inspect.getmembers"
STRING_FORMAT_METHOD = "format"  # `"nn.{}".format(name)`: a string whose head is written out
CLASS_BY_TEXT_BYTES = (  # the same, in a file's bytes (after CLASS_BY_VALUE_BYTES, paired as they are; `x.eval()` is none)
    (None, rb"eval(?<![\w.]eval)\s*\(\s*[fr]?['\"][^'\"\n]*\bnn\."), (None, rb"exec(?<![\w.]exec)\s*\(\s*[fr]?['\"][^'\"\n]*\bnn\."),
    (b"getmembers", rb"getmembers\s*\(\s*[\w.]*nn\b"),
    # torch.nn (or torch, then `.nn`) read from `sys.modules` or imported in place: any other module
    # of torch holds no class of torch.nn (`__import__("torch.fx")` gives torch itself)
    # (also `sys.modules.get(...)`, an f-string without a field, `import_module(".nn", "torch")`)
    (None, rb"modules\s*(?:\[|\.\s*get\s*\()\s*f?['\"]torch(?:\.nn(?:\.modules(?:\.rnn)?)?)?['\"]"),
    (None, rb"import_module\s*\(\s*f?['\"](?:torch(?:\.nn(?:\.modules(?:\.rnn)?)?)?['\"]|\.[\w.]*['\"]\s*,\s*(?:package\s*=\s*)?f?['\"]torch)"),
    (None, rb"__import__\s*\(\s*f?['\"]torch"), (None, rb"reduce(?<!\wreduce)\s*\(\s*getattr\s*,\s*[\[(]"),  # `functools.reduce(getattr, ["nn", name], torch)`: a list written out
)
# `operator.attrgetter(name)` picks a class of torch.nn only when applied to torch or torch.nn
# (`attrgetter(cfg.rnn)(nn)`, `pick = attrgetter(cfg.rnn)` then `pick(torch)`): a call whose one
# argument is a name (perhaps with `.nn`, `.modules`, `.rnn`) that is `torch` or a name bound to it (below).
GETTER_BYTES = rb"attrgetter\s*\("
# A trailing comma (`(nn,)`) and `getattr(torch, "nn")` are such an argument too.
TORCH_ARGUMENT_BYTES = rb"\(\s*(?:getattr\(\s*)?(\w+)(?:\s*\.\s*(?:nn|modules|rnn))*\s*(?:,\s*['\"]\w+['\"]\s*\))?\s*,?\s*\)"
# The module's own names by a string (`globals()[name]`, `getattr(sys.modules[__name__], name)`), in
# a file that spells GRU (it may import the class by its name).
# Or a file that imports torch.nn's names with `*` (then `globals()[name]` may be the GRU class).
TORCH_STAR_IMPORT_BYTES = rb"from[ \t]+torch\.nn(?:\.modules(?:\.rnn)?)?[ \t]+import[ \t]+\*"
OWN_NAMES_BYTES = (rb"globals\s*\(\s*\)\s*(?:\[|\.\s*get\b)", rb"vars\s*\(\s*\)\s*(?:\[|\.\s*get\b)", rb"__name__\s*\]", rb"eval(?<![\w.]eval)\s*\(")
# The names that may stand for torch, torch.nn, its package of modules or its module of recurrent
# classes, read by `getattr(rnn_mod, name)`, `vars(rnn_mod)`, `rnn_mod.__dict__` (NAME_READ_BYTES, NAMESPACE_READ_BYTES;
# CLASS_BY_VALUE_BYTES spells only names ending in nn): bound by an import (`import torch as T`, `import numpy as np,
# torch.nn.modules.rnn as rnn_mod`, `from torch.nn.modules import rnn`, `from torch import (\n nn as
# L,\n)`: TORCH_IMPORT_BYTES finds the statement's list of names, whole, TORCH_IMPORTED_BYTES matches
# one of them), or set to one (`layers = torch.nn`: TORCH_ALIAS_SET_BYTES).
# Names bound to other modules of torch (`from torch import _C`) hold no class of torch.nn.
TORCH_IMPORT_BYTES = (
    rb"import[ \t]+((?:[^\n;\\]|\\\n)+)",  # from a literal, which `re` finds fast (a `\b` first makes it try every position)
    rb"from[ \t]+torch(?:\.nn(?:\.modules)?)?[ \t]+import[ \t]*(\([^)]*\)|(?:[^\n;\\]|\\\n)+)",
)
TORCH_IMPORTED_BYTES = (rb"torch(?:\.nn(?:\.modules(?:\.rnn)?)?)?\s+as\s+(\w+)", rb"(?:nn|modules|rnn)\s+as\s+(\w+)|(nn|modules|rnn)")
IMPORT_LIST_NOISE_BYTES = rb"#[^\n]*|\\\n|[()]"  # a comment, a line continuation, the parentheses of a list of names
# `L = torch.nn`, `L = getattr(T, "nn")`, `L = _nn`: a value from a name bound under torch (or torch
# itself; prefilter.py spells the names as `%s`), found from its `=` (a literal, which `re` finds
# fast), and the name set, searched back from there.
TORCH_ALIAS_SET_BYTES = (
    rb"=[ \t]*(?:(?:%s)|(?:%s)(?:[ \t]*\.[ \t]*\w+)*?[ \t]*\.[ \t]*(?:nn|modules|rnn)"
    rb"|getattr\([ \t]*(?:%s)(?:[ \t]*\.[ \t]*\w+)*[ \t]*,[ \t]*['\"](?:nn|modules|rnn)['\"][ \t]*\))[ \t]*(?:#[^\n]*)?(?m:$)",
    rb"(?<![\w.])(\w+)[ \t]*$",
)
NAME_READ_BYTES = ((b"getattr(", rb"getattr\(\s*(\w+)\s*,"), (b"vars(", rb"vars\(\s*(\w+)\s*\)"), (b"getmembers", rb"getmembers\s*\(\s*(\w+)"))  # paired as CLASS_BY_VALUE_BYTES
NAMESPACE_READ_BYTES = (rb"__(?:dict|getattribute)__", rb"(\w+)\s*\.\s*$")  # `rnn_mod.__dict__`: the name is the word before (searched back)
NAME_READ_NEEDLES = (b"getattr(", b"vars(", b"getmembers", b"__dict__", b"__getattribute__")
OWN_OBJECTS = ("self", "cls")  # what a method is called on inside its class (`self.rnn_class(name)`)
CLASS_OF_OBJECT = "type"  # `type(self.cell)(8, 8)`: a module made from another's class, which the engine does not read; `type(h) is tuple`
ATTRIBUTE_READER = "__getattribute__"  # `nn.__getattribute__(name)`: getattr written as a method
NAMESPACE_OF_OBJECT = "vars"  # `vars(nn)`: a module's names as a dict (ATTRIBUTE_DICT, the same read as an attribute)
# A file that holds the class and may make modules from it itself: a name assigned (annotated or
# not) on a line that names the class (`RNN = nn.GRU`, a field's `cell: type = nn.GRUCell`), or a
# display opened at the end of its line (`RNNs = {`, the class on a line of its own), a `for`
# target or a `with ... as` name on a line that names it (`for Cell in (nn.GRUCell,)`), or a
# parameter whose default is the class (`def make(cls=nn.GRU)`), which is then called (`RNN(4, 8)`,
# `RNNs[name](...)`): prefilter.screen parses such a file at once instead of deferring it.
HELD_CLASS_NAME_BYTES = (
    rb"(?m)^[ \t]*(?:\w+\.)*(\w+)[ \t]*(?::[^=\n]*)?=(?:[^\n]*\bGRU(?:Cell)?\b|[ \t]*[\[{(][ \t]*$)"  # `self.cls = nn.GRUCell`: `cls`
    rb"|\bfor[ \t]+(\w+)[ \t]+in\b[^\n]*\bGRU(?:Cell)?\b|\bGRU(?:Cell)?\b[^\n]*\bas[ \t]+(\w+)"
    rb"|[(,][ \t]*(\w+)[ \t]*(?::[^=\n,]*)?=[ \t]*[\w.]*\bGRU(?:Cell)?\b"
    rb"|^(\w+)\([^\n]*\bGRU(?:Cell)?\b"  # handed at module level to a function that fills a registry: `register("gru", nn.GRUCell)`
)
RETURNED_CLASS_BYTES = rb"(?m)\breturn[ \t]+[\w.]*\bGRU(?:Cell)?[ \t]*(?:#[^\n]*)?$"  # `return nn.GRUCell`: the class itself
HELD_CLASS_CALL_BYTES = rb"\s*(?:\(|\[[^\]\n]*\]\s*\(|\.get\s*\([^)\n]*\)\s*\()"  # after the name (`R.get("gru")(`: REGISTRY_LOOKUP_METHODS)
HELD_CLASS_ALIASED_BYTES = rb"=[ \t]*(?:[\w.]*\.)?"  # before the name: assigned on (`cls = CELLS["gru"]`, `cls = layers.Cell`)
HELD_CLASS_PASSED_BYTES = rb"[(,]\s*(?:\w+\s*=\s*)?"  # before the name: given to a call (`build(CELLS)`, `build(table=CELLS)`)
# A class of the file's own with the GRU class among its bases (`class Core(nn.GRU):`): the program's
# own GRU, which the file constructs through its name (its bytes need not spell `GRU(`).
GRU_SUBCLASS_BYTES = rb"\bclass\s+\w+\s*\([^)]*\bGRU(?:Cell)?\s*[,)]"
# A file that constructs a recurrent module of its own: the objects it calls in a recurrent loop
# are taken to be its own (duck_calls.py), as a file that builds a GRU is a program of its own.
RECURRENT_CONSTRUCTION_BYTES = rb"\b(?:GRU|LSTM|RNN)(?:Cell)?\s*\("
# Calls that give back a pickled object: a saved policy played by a script that never imports it.
LOADERS = {"torch.load", "pickle.load", "pickle.loads", "dill.load", "cloudpickle.load", "joblib.load"}
# Calls that write their first argument to a file (or bytes) that a loader above reads back.
SAVERS = {"torch.save", "pickle.dump", "pickle.dumps", "dill.dump", "cloudpickle.dump", "joblib.dump"}
FILE_ACCESS = SAVERS | LOADERS
# numpy's writers: the arrays they write (by position or by keyword) are read back by code the engine
# does not tie to them (`np.load(path)["hiddens"]`), so a state written there is reported.
NUMPY_SAVERS = {"numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt"}
# numpy functions that write their second argument over their first (`np.copyto(ring[i], h)`), as `out=` does.
NUMPY_COPIES = {"numpy.copyto"}
# The roots of the modules whose classes, as bases of the program's classes, call none of their
# methods with a state: torch's (a module's forward() runs as the program calls the instance) and the
# standard library's. A base from any other root is a library's, which may (rules/interfaces.py).
NON_LIBRARY_ROOTS = frozenset({"torch", "typing_extensions"}) | frozenset(
    getattr(sys, "stdlib_module_names", {"abc", "builtins", "collections", "dataclasses", "enum", "typing"})
)
TORCH_MODULE_PREFIX = "torch.nn."  # torch.nn.<Capitalised>(...) constructs a module
TORCH_MODULES_PACKAGE = "torch.nn.modules."  # torch.nn.modules.<module>.<Capitalised>: the same class where it is defined
TENSOR_LIBRARY_PREFIXES = ("torch.", "numpy.")
# torch classes under those prefixes that are no tensor function: a dataset holds what it is given
# (`TensorDataset(obs, h0)` gives rows), a DataLoader calls its dataset's `__getitem__` and collates
# what it gives, by code the engine does not follow (an unknown call).
DATA_PIPELINE_PREFIX = "torch.utils.data."
DATA_LOADERS = {"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"}
ALREADY_LSTM = {f"{path}.{name}" for path in TORCH_RECURRENT_PATHS for name in ("LSTM", "LSTMCell")}
# Recurrent modules a GRU may be the alternative of (`nn.GRU(...) if cfg.gru else nn.LSTM(...)`).
OTHER_RECURRENT = ALREADY_LSTM | {f"{path}.{name}" for path in TORCH_RECURRENT_PATHS for name in ("RNN", "RNNCell")}
GRU_NAMES = frozenset({"GRU", "GRUCell"})  # the last part of every name in RECURRENT
# torch imported inside a function or class (an indented import statement, an indented
# `nn = importlib.import_module("torch.nn")` / `__import__("torch")`, or an indented alias of torch
# or of a module of it, `nn = torch.nn`, `nn = getattr(torch, "nn")`): names the walk does not qualify
NESTED_TORCH_IMPORT_TEXT = (
    r"""(?m)^[ \t]+(?:(?:import|from)[ \t]+torch\b|\w+[ \t]*=[ \t]*(?:\w+\.)?(?:import_module|__import__)\([ \t]*['"]torch\b"""
    r"""|\w+[ \t]*=[ \t]*(?:torch|\w+\.nn)(?:\.\w+)*[ \t]*(?:#.*)?$|\w+[ \t]*=[ \t]*getattr\([ \t]*torch\b)"""
)
LSTM_FOR_GRU = {"GRU": "LSTM", "GRUCell": "LSTMCell"}
LSTM_KIND = LSTM_FOR_GRU["GRU"]  # what an LSTM (not an LSTMCell) holder is called in the output check
TORCH_NN = TORCH_MODULE_PREFIX.rstrip(".")  # `from torch.nn import Linear` imports modules
LSTM_NAMES = frozenset(LSTM_FOR_GRU.values())
# A group of files none of which spells these makes and holds no GRU or LSTM the walk could find: only a
# class of torch.nn picked by a name not written out may be one (migrate.py skips the walk).
RECURRENT_WORDS = (GRU_NEEDLE.decode(), LSTM_KIND)
# torch.nn.GRU -> "LSTM", torch.nn.GRUCell -> "LSTMCell", under every qualified name of the module.
RECURRENT_NAMES = {name: LSTM_FOR_GRU[kind] for name, kind in RECURRENT.items()}

# ------------------------------------------------------------------ tensors
CREATE_FUNCTIONS = {
    f"{lib}.{name}"
    for lib in ("torch", "numpy")
    for name in ("zeros", "ones", "empty", "full", "randn", "rand")
}
CREATE_LIKE_FUNCTIONS = {
    f"{lib}.{name}_like" for lib in ("torch", "numpy") for name in ("zeros", "ones", "empty", "full", "randn", "rand")
}
ZERO_CREATIONS = {"zeros", "zeros_like", "new_zeros"}  # creations of zeros: added to c, they leave it as it was
GRADIENT_FLAG = "requires_grad"  # given to a creation (not False), it makes a tensor that training may change (masks.py)
LIKE_SUFFIX = "_like"  # `zeros_like(t)`: made like another tensor
# draws of indices, by their last name, with the size written as a tuple among their arguments
# (`torch.randint(0, n, (k,))`), or of one dimension (`torch.randperm(n)`): their ranks are known
SIZED_INDEX_DRAWS = {"randint"}
VECTOR_INDEX_DRAWS = {"randperm"}
FILL_NAMES = {"full", "new_full"}  # `full(shape, value)`: the shape is the first argument alone
CREATE_METHODS = {"new_zeros", "new_ones", "new_empty", "new_full", "new"}  # `weight.new(1, H).zero_()`
CAT_FUNCTIONS = {"torch.cat", "torch.stack", "torch.concat", "torch.concatenate", "numpy.concatenate", "numpy.stack"}
CAT_NAMES = {name.rpartition(".")[2] for name in CAT_FUNCTIONS}  # as written: `torch.cat`, `np.stack`, `from torch import cat`
STACK_NAME = "stack"  # the last part of torch.stack / numpy.stack: a batch along a new dimension (rules/stack.py)
# Functions whose result is their first argument, converted (between numpy and torch).
KEEP_FUNCTIONS = {"torch.from_numpy", "torch.as_tensor", "torch.tensor", "numpy.asarray", "numpy.array", "numpy.copy"}
# Functions whose last part alone names a conversion of their first argument (torch.from_numpy,
# np.asarray, …), as a function that only gives a parameter back is recognised by (syntax.py).
CONVERTING_NAMES = {name.rpartition(".")[2] for name in KEEP_FUNCTIONS} - {"copy"}
# numpy functions that, called on one array, join its leading axes.
NUMPY_JOINING_NAMES = {name.rpartition(".")[2] for name in CAT_FUNCTIONS if name.startswith("numpy.")}
# Elementwise functions and methods of two tensors, by the positions of their two operands among
# the positional arguments (a method's base is the first operand): a state in either is carried
# into the result, as in `h * mask` (`where(done, zeros_like(h), h)` is a masked state,
# `torch.where(done, fresh, h)` and `torch.lerp(h_old, h, w)` join two); the other arguments are only read.
_JOINING = ("lerp", "add", "sub", "subtract", "mul", "multiply", "div", "divide", "maximum", "minimum", "fmax", "fmin")
JOINING_FUNCTIONS = {f"{lib}.{name}": (0, 1) for lib in ("torch", "numpy") for name in _JOINING} | {  # torch.mul(m, h) as m * h
    "torch.where": (1, 2),
    "numpy.where": (1, 2),
}
COPY_INTO_METHOD = "copy_"  # `storage[i].copy_(h)`: an in-place write into preallocated storage
# `h.index_copy_(0, env_ids, new_h)`: rows of the second operand written into the first (along a
# dimension the packed form checks, DIM_POSITIONS)
_ROWS_COPIED = ("index_copy", "index_add")
JOINING_METHODS = (
    {name + suffix: 0 for name in _JOINING for suffix in ("", "_")} | {"where": 1}
    | {name + suffix: 2 for name in _ROWS_COPIED for suffix in ("", "_")}
    | {COPY_INTO_METHOD: 0}  # `self.h.data.copy_(other.h)` onto a place (not rows of storage: calls.py)
)
# Elementwise calls whose tensor arguments other than the joined ones broadcast over the state
# (`h.lerp(h0, w)`: w; `torch.addcmul(h, a, b)`: a and b), by their positions among the positional
# arguments after the tensor (a method's base, a function's first) and their keywords (broadcast.py).
BROADCAST_ARGUMENTS = {
    **{"lerp" + suffix: ((1,), ("weight",)) for suffix in ("", "_")},
    **{name + suffix: ((0, 1), ("tensor1", "tensor2")) for name in ("addcmul", "addcdiv") for suffix in ("", "_")},
}
# The joins whose two operands have one shape (not a product, whose other operand may be a mask):
# an operand joined so with a state is one too (masks.py), as `+` and `-` are.
SAME_SHAPE_JOINS = {name + suffix for name in ("lerp", "add", "sub", "subtract", "maximum", "minimum", "fmax", "fmin") for suffix in ("", "_")} | {"where", COPY_INTO_METHOD}
# Classes that run `target(*args, **kwargs)` in a thread or a process: followed as that call.
STARTING_CLASSES = {"threading.Thread", "multiprocessing.Process", "torch.multiprocessing.Process"}
STARTED_TARGET, STARTED_ARGS, STARTED_KWARGS = "target", "args", "kwargs"
# torch functions that call the function or module they are handed first with the arguments after it
# (`checkpoint(net, x, h)` runs `net(x, h)`): the engine does not bind those arguments to it.
CALLING_FUNCTIONS = {
    "torch.utils.checkpoint.checkpoint", "torch.utils.checkpoint.checkpoint_sequential", "torch.func.functional_call",
    "torch.nn.utils.stateless.functional_call", "torch.func.vmap", "torch.vmap", "torch.func.grad", "torch.func.grad_and_value",
    "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian", "torch.func.vjp", "torch.func.jvp",
    "torch.autograd.functional.jacobian", "torch.autograd.functional.hessian", "torch.autograd.functional.vjp",
    "torch.autograd.functional.jvp",
}
# `checkpoint(fn, *args, use_reentrant=False)` runs `fn(*args)` and returns what it returns, nested
# tuples too, so a pair goes in and comes out with its gradients: followed as that call. Reentrant
# checkpoint (the default) hands back the tensors inside a returned tuple without gradients. Its own
# keywords are not handed to `fn`.
CHECKPOINT_FUNCTION = "torch.utils.checkpoint.checkpoint"
CHECKPOINT_REENTRANT_KEYWORD = "use_reentrant"
CHECKPOINT_KEYWORDS = {CHECKPOINT_REENTRANT_KEYWORD, "preserve_rng_state", "context_fn", "determinism_check", "debug"}
# Functions that run a module on example inputs (`torch.jit.trace(policy, (x, h0))`): the inputs
# are the module's arguments, which the engine does not bind to its forward() (calls.py reports them).
TRACING_FUNCTIONS = {"torch.jit.trace", "torch.jit.trace_module", "torch.onnx.export", "torch.onnx.dynamo_export", "torch.export.export"}
# Methods whose result is the same state (on each half).
# Casts to another dtype: the same elements in the same shape (`mask.bool()`, `done.long()`).
DTYPE_METHODS = {"float", "double", "half", "bool", "long", "int", "byte"}
KEEP_METHODS = DTYPE_METHODS | {
    "detach", "detach_", "cpu", "cuda", "to", "clone", "contiguous",
    "type", "type_as", "requires_grad_", "pin_memory", "share_memory_", "numpy", "copy",
    "astype",  # numpy's cast, as `.to(dtype)`
}
# Methods of torch.nn.Module that give the module back (beside KEEP_METHODS' .to/.cuda/.float…):
# `Policy().to(device).eval()` is the policy.
MODULE_SELF_METHODS = {"train", "eval", "share_memory", "apply", "bfloat16", "to_empty"}
# Builtins that test a value's class against the GRU's (`isinstance(m, (nn.GRU, nn.GRUCell))`).
INSTANCE_TEST = "isinstance"
TYPE_TESTS = frozenset({INSTANCE_TEST, "issubclass"})
# Methods of a module that run it: `self.gru.forward(x, h)` is the call `self.gru(x, h)`.
CALLING_METHODS = frozenset({"forward", "__call__"})
# The parameters a GRU stacks by gate (`weight_hh_l0`, `bias_ih_l1_reverse`; a GRUCell's `weight_ih`), the
# methods and torch functions that take a tensor apart by rows, the attributes that are the same rows
# (`.data`), and the methods that list a module's parameters (rules/gates.py).
GATE_PARAMETER = re.compile(r"(?:weight|bias)_(?:ih|hh)(?:_l\d+)?(?:_reverse)?")
# What a file must spell to cut a gate-stacked parameter (rules/gates.py): its name, or a loop over
# a module's parameters on one line (`for name, p in core.named_parameters():`).
GATE_CODE = r"(?:weight|bias)_(?:ih|hh)|\bfor\b[^\n]*parameters\("
GATE_SPLITTING_METHODS = frozenset({
    "chunk", "split", "tensor_split", "unbind", "view", "reshape", "unflatten", "narrow", "index_select",
})
PARAMETER_DATA_ATTRIBUTES = frozenset({"data"})
MODULE_PARAMETER_METHODS = frozenset({"named_parameters", "parameters"})
# A module's parameters saved and loaded by name (rules/module_reach.OldCheckpoint).
SAVED_STATE_METHOD = "state_dict"
LOADING_STATE_METHOD = "load_state_dict"
# Methods of a module that hand its inputs or outputs to a function (a hook) the engine does not follow.
HOOK_METHODS = frozenset({
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_backward_hook",
})
# Elementwise methods: the result has the tensor's shape, each number computed from its own (and
# the arguments', which broadcast over it: `h.addcmul_(a, b)` adds a * b), so on a pair they run on
# each half, and on a packed state on the whole tensor.
ELEMENTWISE_METHODS = {
    name + suffix
    for name in (
        "clamp", "clip", "clamp_min", "clamp_max", "tanh", "sigmoid", "abs", "neg", "sign", "nan_to_num", "exp",
        "sqrt", "pow", "addcmul", "addcdiv",
    )
    for suffix in ("", "_")
}
# Functions of one tensor, beside ELEMENTWISE_METHODS, KEEP_METHODS and the conversions, whose result
# is as wide as it (`F.relu(x)`, `F.dropout(x)`): an operand's width is followed through them (rules/packed_width.py).
WIDTH_KEEPING_FUNCTIONS = {
    "relu", "relu6", "leaky_relu", "elu", "gelu", "selu", "silu", "softplus", "hardtanh", "log", "dropout", "softmax",
    "log_softmax", "bernoulli",
}
# Methods whose result is a state when it flows into one, features otherwise.
SHAPE_METHODS = ELEMENTWISE_METHODS | {
    "squeeze", "unsqueeze", "view", "reshape", "permute", "transpose", "expand", "expand_as",
    "repeat", "flatten", "index_select", "narrow", "select", "view_as", "reshape_as", "flip",
    "masked_fill", "masked_fill_", "index_fill", "index_fill_", "fill_", "zero_", "swapaxes", "roll",
    "repeat_interleave", "unflatten",
    "squeeze_", "unsqueeze_", "transpose_", "t_",  # in place: on a pair, each half changes in place
}
# Shape methods that pick slices along a dimension they are given (`h0.index_select(1, ids)`): as wide
# as what they act on, unless they pick along the last dimension (rules/packed_width.py takes them as wide).
PICKING_METHODS = {"index_select", "narrow"}
# Shape methods whose argument gives only its shape (`m.expand_as(h)`): read as `zeros_like(h)` reads it.
SHAPE_OF_ARGUMENT_METHODS = {"expand_as", "view_as", "reshape_as"}
# Augmented assignments to a tensor by the in-place method each runs (`h *= m` is `h.mul_(m)`): a
# pair's halves are changed so, the tuple itself holding no item to assign (rules/tensor_ops.py).
IN_PLACE_OPERATORS = {"MultiplyAssign": "mul_", "AddAssign": "add_", "SubtractAssign": "sub_", "DivideAssign": "div_"}
# Calls that pick elements of the tensor by a mask, by the mask's position among the positional
# arguments (`h.masked_fill(done, 0)`, `torch.where(done, zeros, h)`): the mask broadcasts over the
# state, so in the packed form it must not be as wide as h (rules/packed_arithmetic.py).
MASK_POSITIONS = {"masked_fill": 0, "masked_fill_": 0, "where": 0}
# Per-tensor methods that change the tensor they are called on.
IN_PLACE_METHODS = {name for name in KEEP_METHODS | SHAPE_METHODS | set(JOINING_METHODS) if name.endswith("_")}
# Methods whose result is a copy of the tensor, never a view sharing its storage (an in-place
# change of the copy leaves the tensor as it is).
COPYING_METHODS = {"clone", "copy"}
# Functions that change an argument in place (in_place.py), by that argument's position among the
# positional arguments and its keywords: a torch function whose last name ends in the suffix
# (`torch.zero_(t)`, `torch.clamp_(t, a, b)`, `nn.init.zeros_(t)`) or that is given the flag
# (`F.relu(x, inplace=True)`) changes its first argument; any torch function writes its result
# into the tensor given by the `out` keyword (`torch.mul(h, m, out=h)`).
IN_PLACE_SUFFIX = "_"
# Initialisers of torch.nn.init that compute their scale (or pattern) from the tensor's sizes: of a
# packed state, from h and c side by side, twice as wide as the GRU's state was (rules/tensor_ops.py).
SIZE_SCALED_INITS = {
    f"torch.nn.init.{name}" for name in (
        "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_", "eye_", "dirac_",
    )
}
IN_PLACE_FLAG = "inplace"
CHANGED_FIRST_ARGUMENT = (0, ("input", "tensor"))
CHANGED_OUT_ARGUMENT = (None, ("out",))
# Methods whose result is a view sharing the tensor's storage (`row.detach().zero_()`, `h.view(-1)[0] = 0`
# change the tensor), beside the attributes that are the same tensor (`KEEP_ATTRIBUTES`: `row.data`).
VIEW_METHODS = {
    "detach", "view", "view_as", "reshape", "squeeze", "unsqueeze", "transpose", "permute", "expand", "expand_as",
    "narrow", "select", "t", "flatten", "unflatten", "swapaxes", "movedim", "as_strided",
}
# Methods and attributes that only read from a tensor.
READ_METHODS = {"size", "dim", "numel", "sum", "mean", "norm", "max", "min", "item", "tolist", "std", "var", "is_floating_point", "is_complex"}
GRADIENT_ATTRIBUTE = "grad"  # of a state: one gradient per half of the LSTM's
READ_ATTRIBUTES = {"shape", "device", "dtype", "ndim", "is_cuda", "requires_grad", GRADIENT_ATTRIBUTE}
# Reads that measure a tensor's layout (of a packed state: the packed layout's), not its numbers.
SIZE_READS = {"size", "dim", "numel"} | READ_ATTRIBUTES - {GRADIENT_ATTRIBUTE}
SHAPE_ATTRIBUTE, SIZE_METHOD = "shape", "size"  # `x.shape`, `x.size()`: all its sizes; `x.shape[d]`, `x.size(d)`: one
NUMEL_METHOD = "numel"  # `x.numel()`: the product of its sizes, the last among them
KEEP_ATTRIBUTES = {"data"}
# Attributes that are the tensor with its dimensions reversed (`x.T`, `x.mT`: the last two swapped), a
# view kept as the tensor is, whose last dimension is another one now.
TRANSPOSING_ATTRIBUTES = {"T", "mT", "H", "mH"}
CONTAINER_FUNCTIONS = {
    "builtins.list", "builtins.dict", "collections.deque", "collections.defaultdict",
    "collections.OrderedDict", "list", "dict",
    # Queues hand what is put in them to whoever gets from them (an actor's chunks to a learner).
    "queue.Queue", "queue.SimpleQueue", "queue.LifoQueue",
    "multiprocessing.Queue", "multiprocessing.SimpleQueue", "torch.multiprocessing.Queue", "torch.multiprocessing.SimpleQueue",
}
# The last parts of the container functions that make a dict (iterated, it gives its keys).
DICT_BUILTIN = "dict"  # `dict(use_reentrant=False)`: keywords written out
DICT_FUNCTION_NAMES = {DICT_BUILTIN, "defaultdict", "OrderedDict"}
TYPED_DICT_CLASSES = {"typing.TypedDict", "typing_extensions.TypedDict"}  # a subclass's call makes a dict
DICT_FROM_KEYS = "fromkeys"  # `dict.fromkeys(names, h0)`: every value is h0
DICT_UPDATE_METHOD = "update"  # `d.update(zip(keys, values))`: each value is stored as an element
DEFAULT_FACTORY_DICT = "defaultdict"  # `defaultdict(lambda: net.init_hidden(1))`: what the factory gives is an element
CONTAINER_ADD_METHODS = {"append", "appendleft", "put", "put_nowait"}  # a queue's put adds as append does
# How items are added at the end of a list: one (`append(x)`), or each of a list (`extend([x, y])`).
LIST_APPEND_METHOD = "append"
LIST_EXTEND_METHOD = "extend"
MODULE_CONTAINERS = {"torch.nn.ModuleDict", "torch.nn.ModuleList"}
# Wrappers that hold one module and run it when called: calling one is calling the module, and
# its `.module` is the module (`net = nn.DataParallel(Policy())`, `net.module.init_hidden(n)`;
# `fast = torch.compile(net)`).
MODULE_WRAPPERS = {
    "torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.DistributedDataParallel",
    "torch.nn.parallel.data_parallel.DataParallel", "torch.nn.parallel.distributed.DistributedDataParallel",
    "torch.compile",
}
# torch.nn modules that give their input back or run the modules they hold: a value handed to one
# is not only read as features (summaries.FeatureParameter, qualnames.library_layer).
PASSING_MODULES = {"torch.nn.Identity", "torch.nn.Sequential"} | MODULE_CONTAINERS | MODULE_WRAPPERS
# Decorators that make a method an attribute read (`agent.hidden` runs `def hidden(self)`), by
# their last name (`@property`, `@functools.cached_property`); and the attributes of a property
# that decorate its other methods (`@hidden.setter`).
PROPERTY_DECORATORS = frozenset({"property", "cached_property"})
PROPERTY_ACCESSORS = frozenset({"setter", "getter", "deleter"})
# The methods that indexing an object runs (`buffer[i]`, `buffer[i] = h`).
ITEM_READER = "__getitem__"
ITERATOR = "__iter__"  # what iterating an object runs (`for h in buffer`)
SUPER = "super"  # `super().forward(x, h)` runs the method of a base class
ITEM_WRITER = "__setitem__"
WRAPPED_MODULE_ATTRIBUTE = "module"  # also the wrappers' keyword for the module they wrap
WRITING_METHODS = CONTAINER_ADD_METHODS | {COPY_INTO_METHOD}  # write their argument into the object they are called on
ITERATION_BUILTINS = {"reversed", "sorted", "list", "tuple", "set", "frozenset", "iter", "enumerate", "zip"}
ROWS_BUILTINS = {"enumerate", "zip", "reversed", "iter"}  # iterate a tensor computed in their call by its rows (`zip(reversed(h[0]), done)`)
REORDERING_BUILTINS = {"reversed", "sorted"}  # what they give has no position of what they are given
# Containers made from an iterable, holding its elements (`deque(states, maxlen=n)`), as the builtin named
# SEQUENCE_OF_ITERABLE does; their other arguments are only read.
ITERABLE_CONTAINERS = {"collections.deque"}
SEQUENCE_OF_ITERABLE = "list"
SEQUENCE_BUILTINS = {"list", "tuple"}  # a sequence of what they are given (`tuple(p.clone() for p in ps)`)
# The kinds a test of a state's class may name that (h, c) is: `isinstance(h, tuple)`, `type(h) is list`.
PAIR_KINDS = ("tuple", "list")
PAIR_CLASS = "tuple"  # the class of the tuple form's (h, c): `isinstance(h, list)` is false for it
# Classes a state is tested against for being one tensor (`isinstance(h, torch.Tensor)`, by the last
# name of any spelling): the test turns false once the state is the pair (h, c).
TENSOR_CLASS_NAMES = {"Tensor", "Variable", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor"}
TENSOR_TEST_FUNCTION = "torch.is_tensor"  # `torch.is_tensor(h)`: isinstance(h, torch.Tensor) written as a call
MAP_BUILTIN = "map"  # `map(lambda x: E, xs)` is `(E for x in xs)`
NEXT_BUILTIN = "next"  # `next(self.parameters())`: the first item of a new iterator, only read
SAMPLING_FUNCTIONS = {"random.sample", "random.choices", "random.choice"}
# List methods that move items to other positions in place: after one, a literal list's positions
# no longer say what each holds (`parts.reverse(); h, t = parts`); so does a pop at a position (`.pop(0)`).
REORDERING_METHODS = {"reverse", "sort", "insert", "remove"}
POSITIONED_POP_METHOD = "pop"
LIST_INSERT_METHOD = "insert"  # `hs.insert(0, h)`: its second argument is an element added
CONTAINER_METHODS = {"clear", "pop", "popleft", "copy", "items", "keys", "values", "get", "setdefault", "extend", "insert", "get_nowait"}
# Shape methods whose arguments are sizes: on a packed state, the last one doubles.
SIZED_SHAPE_METHODS = {"view", "reshape", "expand"}
EXPAND_METHOD = "expand"  # a size of -1 keeps the size the tensor had there
# Methods that turn a packed state into the pair an LSTM takes.
SPLITTING_METHODS = {"chunk", "split", "unbind"}
# The same, as torch functions (`torch.chunk(h, n, dim=1)`), and where each takes its `dim` among the
# positional arguments after the tensor (unbind(dim), split(size, dim), chunk(chunks, dim); 0 if not given).
SPLITTING_FUNCTIONS = {f"torch.{name}" for name in SPLITTING_METHODS}
SPLIT_DIM_POSITION = {"unbind": 0, "split": 1, "chunk": 1}
UNBIND_METHOD = "unbind"  # its pieces have one dimension fewer
# What a tensor has and a tuple has not: used on a pair, a sure mistake.
TENSOR_ONLY = (KEEP_METHODS | SHAPE_METHODS | READ_METHODS | READ_ATTRIBUTES | KEEP_ATTRIBUTES) - {"copy", "count", "index"}
# Functions that read a tensor as features (what a head does): the cell state c must reach none.
# Not tanh or sigmoid: an LSTM's own arithmetic applies them to c; not dropout: zoneout does.
# torch functions that act along the last (hidden) dimension as a whole: on a packed state they
# would mix h and c (`F.layer_norm(h, (H,))`), so the packed form reports them where the result
# stays a state (rules/packed_arithmetic.py).
# einsum: along the last dimension unless its literal equation keeps one operand's last as the
# result's, column by column (einsum.py)
EINSUM_FUNCTIONS = {"torch.einsum", "numpy.einsum"}
ALONG_HIDDEN_FUNCTIONS = {
    "layer_norm", "group_norm", "rms_norm", "normalize", "softmax", "log_softmax", "softmin",
    "linear", "matmul", "mm", "bmm", "einsum", "cumsum", "cumprod", "logsumexp",
}
# Tensor methods and torch functions that act along dimensions their arguments name: the positions
# of those among the positional arguments after the tensor (`flip(dims)`, `roll(shifts, dims)`,
# `transpose(dim0, dim1)`, `h.norm(p, dim)`); any of `DIM_KEYWORDS` names one too. Along the last
# dimension of a packed state they would act on h and c together (rules/packed_dims.py).
DIM_POSITIONS = {
    **{name: (0,) for name in (
        "flip", "narrow", "index_select", "select", "gather", "scatter", "scatter_", "scatter_add", "scatter_add_",
        "index_fill", "index_fill_", "index_add", "index_add_", "index_copy", "index_copy_", "take_along_dim",
        "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "softmax", "log_softmax", "softmin",
        "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "std", "var",
        "logsumexp", "median", "mode", "sort", "argsort", "all", "any", "count_nonzero", "unflatten",
    )},
    "roll": (1,), "norm": (1,), "topk": (1,), "kthvalue": (1,), "repeat_interleave": (1,),
    **{name: (0, 1) for name in ("transpose", "transpose_", "swapaxes", "swapdims", "movedim", "moveaxis")},
}
DIM_KEYWORDS = {"dim", "dims", "axis", "dim0", "dim1", "axis0", "axis1", "source", "destination"}
# Of those, the ones that act along the last dimension, or every one, when none is given (`h.norm()`,
# `h.sum()`, `torch.roll(h, 1)` of the flattened tensor, `h.sort()`); the others need one.
ALONG_LAST_BY_DEFAULT = {
    "roll", "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "std", "var",
    "norm", "median", "all", "any", "count_nonzero", "sort", "argsort", "logsumexp", "topk", "kthvalue", "mode",
    "repeat_interleave",
}
# Methods and functions whose result has the rank of the tensor they act on (beside KEEP_METHODS and
# ELEMENTWISE_METHODS): a state's rank is followed through them (rules/packed_dims.py).
SAME_RANK_NAMES = {
    "flip", "roll", "transpose", "transpose_", "swapaxes", "swapdims", "movedim", "moveaxis", "permute",
    "index_select", "narrow", "gather", "scatter", "scatter_", "index_fill", "index_fill_", "cumsum", "cumprod",
    "softmax", "log_softmax", "masked_fill", "masked_fill_", "mul", "mul_", "fill_", "zero_", "where", "lerp",
    "index_copy", "index_copy_", "index_add", "index_add_", "scatter_add", "scatter_add_",
}
RANK_ADDING_METHOD, RANK_DROPPING_METHOD = "unsqueeze", "squeeze"  # one dimension more, or one fewer where its size is 1
PERMUTE_METHOD = "permute"  # `h.permute(2, 1, 0)`: the last dimension of the result is its last argument
# Of those, the ones that move dimensions to other places (a new tensor made so has its sizes in another order).
TRANSPOSING_CALLS = {"t", "t_"}  # `torch.t(x)`, `x.t()`: its two dimensions swapped, whatever it is given
DIMENSION_MOVING_NAMES = {PERMUTE_METHOD, "transpose", "transpose_", "swapaxes", "swapdims", "movedim", "moveaxis"} | TRANSPOSING_CALLS
# Reshapes that may merge the last dimension with others (`h.reshape(B, -1)` of an (L, B, H) state),
# and where `flatten` takes its dimensions (rules/packed_merge.py).
RESHAPE_METHODS = {"view", "reshape"}
FLATTEN_METHOD = "flatten"
FLATTEN_DIMS = {"start_dim": 0, "end_dim": 1}
FEATURE_FUNCTIONS = {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", "softmax", "log_softmax", "linear"}
# torch functions (`F.mse_loss(s_h, t_h)`) that measure how far their inputs are apart: a loss is read
# from a state, as a feature, never a state (two losses added do not join the tensors they measure).
LOSS_FUNCTIONS = {
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
}
# torch functions (`torch.<name>`, `torch.nn.functional.<name>`) that compute new features from a
# tensor: what a helper computes from a parameter on its way into a layer (summaries.FeatureParameter).
FEATURE_FUNCTION_MODULES = ("torch", "torch.nn.functional")
COMPUTED_FEATURE_FUNCTIONS = FEATURE_FUNCTIONS | WIDTH_KEEPING_FUNCTIONS | {name for name in ELEMENTWISE_METHODS if not name.endswith("_")}
# The last part of every creation function or method.
CREATION_NAMES = {name.rpartition(".")[2] for name in CREATE_FUNCTIONS | CREATE_LIKE_FUNCTIONS} | CREATE_METHODS

# Decorators that have TorchScript compile a function: it types every value as written.
TORCHSCRIPT_DECORATORS = {"torch.jit.script", "torch.jit.script_method", "torch.jit.export"}
# Class decorators of libraries that give back the class they decorate and keep it nowhere: no registry
CLASS_KEEPING_DECORATORS = {"dataclasses.dataclass", "functools.total_ordering", "typing.final", "typing.runtime_checkable", "enum.unique"}
# Functions that compile what they are given (a module: its forward(); a function) with TorchScript.
SCRIPTING_FUNCTIONS = {"torch.jit.script"}

# ------------------------------------------------------------------ words in names
MASK_WORDS = ("mask", "done", "reset", "terminal", "not_done", "nonterminal")

# ------------------------------------------------------------------ Python's own words
COPY_FUNCTIONS = {"copy.copy", "copy.deepcopy"}  # the copy is the same kind of value
COPY_SPELLINGS = COPY_FUNCTIONS | {"deepcopy"}  # as written, before imports are resolved
REPLACE_FUNCTIONS = {"dataclasses.replace"}  # an object of the same class, fields given anew
# A dataclass field's default: `field(default=E)` is E, `field(default_factory=F)` what F gives when called with nothing.
FIELD_FUNCTIONS = {"dataclasses.field"}
FIELD_DEFAULT = "default"
FIELD_FACTORY = "default_factory"
REPLACE_METHOD = "_replace"  # namedtuple's
NAMEDTUPLE_FUNCTIONS = {"collections.namedtuple", "typing.NamedTuple"}
INSPECTING_BUILTINS = {"len", "isinstance", "id", "type"}  # only read their arguments
# Annotations that wrap the type of what they annotate (a TypedDict field's `NotRequired[torch.Tensor]`):
# a pair's `Tuple[A, A]` goes inside them.
ANNOTATION_WRAPPERS = {"Optional", "NotRequired", "Required", "ReadOnly", "Final"}
NUMBER_BUILTINS = {"float", "int", "bool", "len", "abs", "round"}  # give a Python number, which broadcasts like one
# Builtins that only turn their arguments into text: a state, or an object holding one, is read
# (a pair prints as well as a tensor; a class of the program that makes its own text, `__repr__`,
# is walked like any of its methods).
FORMATTING_BUILTINS = {"print", "repr", "str", "ascii", "format"}
FORMATTING_FUNCTIONS = {  # the logging module's, which format their arguments with %s
    "logging.debug", "logging.info", "logging.warning", "logging.warn", "logging.error", "logging.critical",
    "logging.exception", "logging.log",
}
ATTRIBUTE_BUILTINS = {"hasattr", "getattr"}  # what they do with the object is unknown
# What writes an attribute by a name computed at run time (`setattr(self, k, v)`, `self.__dict__.update(kw)`).
ATTRIBUTE_WRITERS = {"setattr", "__dict__"}
NAMED_ATTRIBUTE_BUILTIN = "getattr"  # `getattr(self, "gru")`: with the name written out, the attribute read
# Builtins a helper may pass its parameter to and still only look at it (summaries.py).
LOOKING_BUILTINS = INSPECTING_BUILTINS | {"hasattr", "getattr"}
# Functions of a tensor library (`torch.is_tensor(x)`, `np.isscalar(x)`) a helper may pass its parameter to, likewise.
LOOKING_LIBRARY_FUNCTIONS = {"is_tensor", "is_floating_point", "is_complex", "is_nonzero", "numel", "isscalar", "ndim", "shape"}
SAMPLING_METHODS = {"sample", "choices", "choice"}  # random.Random's, on a container
# Calls that draw random numbers (the last name of the callee: `torch.rand`, `np.random.randn`,
# `F.dropout`, `x.bernoulli_()`): evaluated once per half, the halves would get different draws.
RANDOM_DRAWS = {
    "rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm", "bernoulli", "bernoulli_",
    "multinomial", "normal", "normal_", "uniform", "uniform_", "poisson", "random", "random_", "choice", "choices",
    "sample", "shuffle", "permutation", "dropout", "exponential_", "geometric_", "cauchy_", "log_normal_",
}
# Tensor methods and functions, by their last name, that only compute a new tensor (no change in
# place, no random draw): an operand made by them may be written once per half of (h, c); any
# other call in such an operand (`h.mul_(thing(3))`) would run twice (rules/joined_operands.py).
COMPUTING_NAMES = {
    name for name in KEEP_METHODS | SHAPE_METHODS | set(JOINING_METHODS) | CREATION_NAMES | CONVERTING_NAMES | CAT_NAMES
    if not name.endswith(IN_PLACE_SUFFIX) and name not in RANDOM_DRAWS
} | {
    "sum", "mean", "prod", "norm", "any", "all", "max", "min", "amax", "amin", "std", "var",
    "logical_not", "eq", "ne", "gt", "lt", "ge", "le", "Tensor", "FloatTensor", "LongTensor", "BoolTensor", "ByteTensor",
    "ones_like", "zeros_like", "full_like", "arange", "size", "dim", "numel", "item", "range",
} | NUMBER_BUILTINS | TYPE_TESTS | ROWS_BUILTINS
# Decorators, by their last name, under which a call runs the function as written (another
# decorator may wrap it in code that counts or stores: `@count_calls`, rules/joined_operands.py).
PLAIN_CALL_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "no_grad", "inference_mode"})
# Joins of a state with an operand of its shape that add it (`h + x`, `h.add_(x)`, `h -= x`): an
# operand that is no state would be added to c as it was to h (rules/joined_operands.py).
ADDING_JOINS = {name + suffix for name in ("add", "sub", "subtract") for suffix in ("", "_")}
ADDING_OPERATORS = ("Add", "Subtract", "AddAssign", "SubtractAssign")
KEYED_CONTAINER_METHODS = {"get", "pop", "setdefault"}  # take a key and may give a value back
# Methods that store only what a second call finds stored (`d.setdefault(k, h0)`): run once per half
# of (h, c), each half is taken from what the first run stored (rules/joined_operands.py).
IDEMPOTENT_METHODS = {"setdefault"}
# Methods of a registry of classes (registries.py) that store their argument, or read only its keys.
REGISTRY_STORE_METHODS = {"append"}
REGISTRY_KEY_METHODS = {"keys"}
REGISTRY_LOOKUP_METHODS = {"get"}  # `R.get(name)`, `R.get(name, Default)`: a lookup
STAR_IMPORT_BYTES = b"import *"  # `from .layers import *`: a re-export that spells none of the names
DYNAMIC_LOOKUP_BYTES = b"getattr"  # `getattr(model, name)` takes a module's members by a name
# A module class of torch.nn taken by its name (`getattr(nn, "GRU")`, `getattr(torch.nn, cfg.cell)`):
# the source spells it (a cheap test before a walk, rules/module_reach.py); a class so taken by a
# name not written out is a recurrent one when its module is made with this many arguments or
# more (`(input_size, hidden_size)`; an activation takes fewer), or with one of these keywords.
# the look-behind after the word: see SET_BY_NAME_TEXT; or a key of its namespace (`vars(nn)[name]`, `nn.__dict__[name]`,
# `globals()[name]` after `from torch.nn import *`), or attributes read in turn (`functools.reduce(getattr, ["nn", name], torch)`)
CLASS_BY_NAME_TEXT = r"getattr(?<![\w.]getattr)\s*\(|vars(?<![\w.]vars)\s*\(|__dict__\s*\[|attrgetter\s*\(|globals\s*\(\s*\)\s*\[|reduce(?<!\wreduce)\s*\(\s*getattr\s*,\s*[\[(]"
RECURRENT_ARGUMENTS = 2
RECURRENT_KEYWORDS = frozenset({"input_size", "hidden_size"})
ELEMENT_CONTAINER_METHODS = {"pop", "popleft", "get", "setdefault", "get_nowait"}  # give an element back (a queue's get too)
NONE_FOR_A_MISSING_KEY = "get"  # `d.get(k)`, with a key alone, gives None for a key the dict does not hold
VIEW_CONTAINER_METHODS = {"values", "items"}  # iterate a dict's values

# ------------------------------------------------------------------ words the migration writes
# The name that holds `c` beside a name that holds `h`, by `_`-word (docs/rules.md, "partner name").
PARTNER_WORDS = {
    "h": "c",
    "hx": "cx",
    "hxs": "cxs",
    "hn": "cn",
    "h0": "c0",
    "hid": "cell",
    "hidden": "cell",
    "hiddens": "cells",
}
# GRU words in prose, as the LSTM version says them.
LSTM_PROSE_WORDS = {"GRUCell": "LSTMCell", "GRU": "LSTM", "GRUs": "LSTMs", "grucell": "lstmcell", "gru": "lstm"}
LSTM_NAME_WORDS = {"gru": "lstm", "GRU": "LSTM"}  # `gru` in a name; any other case becomes `Lstm`
