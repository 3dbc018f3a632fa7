"""Find where a given recurrent state lives inside a model: attributes, dicts, lists, dataclasses,
rows of preallocated tensors or arrays. Used by `shapes` to see the live state and the stored
entries the way the model holds them (pair, packed, h only, swapped).
"""

from __future__ import annotations

import dataclasses
import types
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

MAX_DEPTH = 7
MAX_ITEMS = 50_000  # elements of one list/dict looked at
MAX_ROWS = 8_192  # rows of one preallocated tensor looked at

_MODULE_INTERNALS = set(vars(nn.Module()).keys())


@dataclass
class Match:
    path: str
    kind: str  # "pair", "swapped", "packed", "h", "c", "pair_hh", "pair_cc"
    value: Any  # what was found (a tensor or a tuple of two)

    def requires_grad(self) -> bool:
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        return any(isinstance(v, torch.Tensor) and (v.requires_grad or v.grad_fn is not None) for v in values)

    def shapes(self) -> list:
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        return [tuple(v.shape) for v in values if hasattr(v, "shape")]


def _as_tensor(value: Any) -> Optional[torch.Tensor]:
    if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter):
        return value
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return torch.from_numpy(value)
    return None


def _same(value: torch.Tensor, target: torch.Tensor) -> bool:
    if value.numel() != target.numel() or value.numel() == 0:
        return False
    try:
        return bool(torch.equal(value.detach().reshape(-1).to("cpu", target.dtype), target.reshape(-1)))
    except RuntimeError:
        return False


def _children(obj: Any, path: str) -> Iterator:
    """(child path, child value) of a container or plain object."""
    if isinstance(obj, dict):
        for i, (key, value) in enumerate(obj.items()):
            if i >= MAX_ITEMS:
                break
            yield f"{path}[{key!r}]", value
    elif isinstance(obj, (list, tuple, deque)):
        for i, value in enumerate(obj):
            if i >= MAX_ITEMS:
                break
            yield f"{path}[{i}]", value
    elif isinstance(obj, nn.Module):
        for key, value in vars(obj).items():
            if key in _MODULE_INTERNALS or key == "training":
                continue
            yield f"{path}.{key}", value
        for key, value in obj._buffers.items():
            yield f"{path}.{key}", value
        for key, value in obj._modules.items():
            yield f"{path}.{key}", value
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield f"{path}.{f.name}", getattr(obj, f.name, None)
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType, types.FunctionType, types.MethodType)):
        for key, value in vars(obj).items():
            yield f"{path}.{key}", value


def _skip(obj: Any) -> bool:
    if obj is None or isinstance(obj, (str, bytes, int, float, bool, complex, type, types.ModuleType)):
        return True
    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        return True
    if isinstance(obj, torch.optim.Optimizer) or isinstance(obj, nn.Parameter):
        return True
    if type(obj).__module__.startswith("torch") and not isinstance(obj, (torch.Tensor, nn.Module)):
        return True  # devices, dtypes, distributions, generators...
    return False


def locate(root: Any, h: torch.Tensor, c: Optional[torch.Tensor] = None, root_name: str = "self") -> list:
    """Every place under `root` that holds the state (h, c) (or h alone when c is None)."""
    h = h.detach().cpu()
    c = c.detach().cpu() if c is not None else None
    packed = torch.cat([h, c], dim=-1) if c is not None else None
    packed_swapped = torch.cat([c, h], dim=-1) if c is not None else None
    found: list = []
    seen: set = set()

    def classify_tensor(t: torch.Tensor) -> Optional[str]:
        if packed is not None and _same(t, packed):
            return "packed"
        if packed_swapped is not None and not _same(h, c) and _same(t, packed_swapped):
            return "swapped"
        if _same(t, h):
            return "h"
        if c is not None and _same(t, c):
            return "c"
        return None

    def visit(obj: Any, path: str, depth: int) -> None:
        if _skip(obj):
            return
        tensor = _as_tensor(obj)
        if tensor is not None:
            kind = classify_tensor(tensor)
            if kind is not None:
                found.append(Match(path, kind, obj))
                return
            # rows of a preallocated storage: storage[i] (and storage[i][j] one level down)
            target_numel = h.numel()
            if tensor.dim() >= 2 and tensor.numel() > target_numel and tensor.shape[0] <= MAX_ROWS:
                for i in range(tensor.shape[0]):
                    row = tensor[i]
                    kind = classify_tensor(row)
                    if kind is not None:
                        found.append(Match(f"{path}[{i}]", kind, row))
                    elif row.dim() >= 2 and row.numel() > target_numel and row.shape[0] <= 64:
                        for j in range(row.shape[0]):
                            kind = classify_tensor(row[j])
                            if kind is not None:
                                found.append(Match(f"{path}[{i}][{j}]", kind, row[j]))
            return
        if depth >= MAX_DEPTH or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (tuple, list)) and len(obj) == 2:
            a, b = (_as_tensor(v) for v in obj)
            if a is not None and b is not None and c is not None:
                pair = (obj[0], obj[1])
                if _same(a, h) and _same(b, c):
                    found.append(Match(path, "pair", pair))
                    return
                if _same(a, c) and _same(b, h):
                    found.append(Match(path, "swapped", pair))
                    return
                if _same(a, h) and _same(b, h):
                    found.append(Match(path, "pair_hh", pair))
                    return
        for child_path, child in _children(obj, path):
            visit(child, child_path, depth + 1)

    visit(root, root_name, 0)
    return found
