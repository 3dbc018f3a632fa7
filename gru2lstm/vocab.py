"""Every torch, numpy, GRU and LSTM word the engine knows, in one place.

The analysis (flow.py), the solver (solve.py), the rules (plan.py), the output check
(lstm_check.py) and the prefilter read their vocabulary from here; none has a table of its own.
"""

from __future__ import annotations

# ------------------------------------------------------------------ the recurrent modules
RECURRENT = {  # qualified name of a torch GRU -> its kind
    "torch.nn.GRU": "GRU",
    "torch.nn.modules.rnn.GRU": "GRU",
    "torch.nn.GRUCell": "GRUCell",
    "torch.nn.modules.rnn.GRUCell": "GRUCell",
}
ALREADY_LSTM = {"torch.nn.LSTM", "torch.nn.LSTMCell", "torch.nn.modules.rnn.LSTM", "torch.nn.modules.rnn.LSTMCell"}
GRU_NAMES = frozenset({"GRU", "GRUCell"})  # the last part of every name in RECURRENT
LSTM_FOR_GRU = {"GRU": "LSTM", "GRUCell": "LSTMCell"}
LSTM_NAMES = frozenset(LSTM_FOR_GRU.values())
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
CREATE_METHODS = {"new_zeros", "new_ones", "new_empty", "new_full", "new"}  # `weight.new(1, H).zero_()`
CAT_FUNCTIONS = {"torch.cat", "torch.stack", "torch.concat", "torch.concatenate", "numpy.concatenate", "numpy.stack"}
# Functions whose result is their first argument, converted (between numpy and torch).
KEEP_FUNCTIONS = {"torch.from_numpy", "torch.as_tensor", "torch.tensor", "numpy.asarray", "numpy.array", "numpy.copy"}
# Methods whose result is the same state (on each half).
KEEP_METHODS = {
    "detach", "detach_", "cpu", "cuda", "to", "clone", "contiguous", "float", "double", "half",
    "type", "requires_grad_", "pin_memory", "share_memory_", "numpy", "copy",
}
# Methods whose result is a state when it flows into one, features otherwise.
SHAPE_METHODS = {
    "squeeze", "unsqueeze", "view", "reshape", "permute", "transpose", "expand", "expand_as",
    "repeat", "flatten", "index_select", "narrow", "select", "view_as", "reshape_as", "flip",
    "mul", "mul_", "masked_fill", "masked_fill_", "fill_", "zero_", "swapaxes",
}
# Methods and attributes that only read from a tensor.
READ_METHODS = {"size", "dim", "numel", "sum", "mean", "norm", "abs", "max", "min", "item", "tolist", "std", "var"}
READ_ATTRIBUTES = {"shape", "device", "dtype", "ndim", "is_cuda", "requires_grad", "grad"}
KEEP_ATTRIBUTES = {"data"}
CONTAINER_FUNCTIONS = {
    "builtins.list", "builtins.dict", "collections.deque", "collections.defaultdict",
    "collections.OrderedDict", "list", "dict",
}
CONTAINER_ADD_METHODS = {"append", "appendleft"}
MODULE_CONTAINERS = {"torch.nn.ModuleDict", "torch.nn.ModuleList"}
ITERATION_BUILTINS = {"reversed", "sorted", "list", "tuple", "iter", "enumerate", "zip"}
SAMPLING_FUNCTIONS = {"random.sample", "random.choices", "random.choice"}
CONTAINER_METHODS = {"clear", "pop", "popleft", "copy", "items", "keys", "values", "get", "setdefault", "extend", "insert"}
# Shape methods whose arguments are sizes: on a packed state, the last one doubles.
SIZED_SHAPE_METHODS = {"view", "reshape", "expand"}
# Methods that turn a packed state into the pair an LSTM takes.
SPLITTING_METHODS = {"chunk", "split", "unbind"}
# What a tensor has and a tuple has not: used on a pair, a sure mistake.
TENSOR_ONLY = (KEEP_METHODS | SHAPE_METHODS | READ_METHODS | READ_ATTRIBUTES) - {"copy", "count", "index"}
# Functions that read a tensor as features (what a head does): the cell state c must reach none.
# Not tanh or sigmoid: an LSTM's own arithmetic applies them to c; not dropout: zoneout does.
FEATURE_FUNCTIONS = {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", "softmax", "log_softmax", "linear"}
# The last part of every creation function or method.
CREATION_NAMES = {name.rpartition(".")[2] for name in CREATE_FUNCTIONS | CREATE_LIKE_FUNCTIONS} | CREATE_METHODS

# ------------------------------------------------------------------ words in names
MASK_WORDS = ("mask", "done", "reset", "terminal", "not_done", "nonterminal")
