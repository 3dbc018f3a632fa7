"""Record every call of a model's recurrent modules: its input, the state it got and the state it gave.

Forward hooks (with kwargs) on every `nn.GRU/LSTM/RNN` and `nn.GRUCell/LSTMCell/RNNCell`; each call
is kept detached and cloned with the phase the harness was in (act, observe, train, reset, probe)
and whether autograd was on. `rows()` turns a call into per-sample rows (first time step of the
input, the sample's h and c), which is what `replay` matches on.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

RECURRENT = (nn.RNNBase, nn.RNNCellBase)
LSTM_TYPES = (nn.LSTM, nn.LSTMCell)
GRU_TYPES = (nn.GRU, nn.GRUCell)


def module_roots(model: Any) -> list:
    """[(prefix, module)]: the model itself when it is an nn.Module, else the modules it holds in
    its attributes (directly, or in a dict/list attribute), each once."""
    if isinstance(model, nn.Module):
        return [("", model)]
    roots, seen = [], set()

    def add(name, value):
        if isinstance(value, nn.Module) and id(value) not in seen:
            seen.add(id(value))
            roots.append((name, value))

    for name, value in vars(model).items():
        if isinstance(value, dict):
            for key, item in value.items():
                add(f"{name}.{key}", item)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                add(f"{name}.{i}", item)
        else:
            add(name, value)
    return roots


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else (prefix or name)


def named_modules(model: Any) -> list:
    found, seen = [], set()
    for prefix, root in module_roots(model):
        for name, module in root.named_modules():
            if id(module) not in seen:
                seen.add(id(module))
                found.append((_join(prefix, name), module))
    return found


def named_parameters(model: Any) -> list:
    found, seen = [], set()
    for prefix, root in module_roots(model):
        for name, param in root.named_parameters():
            if id(param) not in seen:
                seen.add(id(param))
                found.append((_join(prefix, name), param))
    return found


def state_tensors(model: Any) -> dict:
    """{name: tensor} of parameters and buffers (the state_dict, shared tensors under each name)."""
    found = {}
    for prefix, root in module_roots(model):
        for name, tensor in root.state_dict(keep_vars=True).items():
            found.setdefault(_join(prefix, name), tensor)
    return found


def recurrent_modules(model: Any) -> list:
    """[(qualified name, module)] of the recurrent modules, in registration order, each once."""
    return [(name, m) for name, m in named_modules(model) if isinstance(m, RECURRENT)]


def all_zero(t: Optional[torch.Tensor]) -> bool:
    """Whether a recorded state half is zero (or absent, or empty): a reset state."""
    if t is None or t.numel() == 0:
        return True
    return not bool(t.abs().max() > 0)


def _clone(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return tuple(_clone(v) for v in value)
    if isinstance(value, nn.utils.rnn.PackedSequence):
        return _clone(value.data)
    return value


@dataclass
class Call:
    index: int
    module: str
    kind: str  # "lstm", "gru", "rnn", "lstm_cell", "gru_cell", "rnn_cell"
    phase: str
    step: int  # harness step counter when the call happened (-1 outside acting)
    grad: bool
    x: Any  # input tensor (cloned)
    hx: Any  # None, a tensor, or a tuple (h, c) as received
    hx_requires_grad: bool
    out: Any  # the returned state: tensor, or tuple (h, c)
    cell: bool
    batch_first: bool
    packed_input: bool = False
    where: str = ""  # file:line of the user's code that called the module

    @property
    def at(self) -> str:
        return f" at {self.where}" if self.where else ""

    @property
    def h(self) -> Optional[torch.Tensor]:
        if self.hx is None:
            return None
        return self.hx[0] if isinstance(self.hx, tuple) else self.hx

    @property
    def c(self) -> Optional[torch.Tensor]:
        if isinstance(self.hx, tuple) and len(self.hx) > 1:
            return self.hx[1]
        return None

    @property
    def out_h(self) -> Optional[torch.Tensor]:
        return self.out[0] if isinstance(self.out, tuple) else self.out

    @property
    def out_c(self) -> Optional[torch.Tensor]:
        return self.out[1] if isinstance(self.out, tuple) and len(self.out) > 1 else None

    def batch_size(self) -> int:
        x = self.x
        if self.cell:
            return x.shape[0] if x.dim() == 2 else 1
        if self.packed_input:
            return -1
        if x.dim() == 2:
            return 1  # unbatched sequence
        return x.shape[0] if self.batch_first else x.shape[1]

    def rows(self) -> list:
        """[(first-step input row, h row or None, c row or None)] per sample of the batch."""
        x = self.x
        if self.packed_input:
            return []
        if self.cell:
            xs = x if x.dim() == 2 else x.unsqueeze(0)
            first = [xs[b] for b in range(xs.shape[0])]

            def half(t):
                if t is None:
                    return [None] * len(first)
                t = t if t.dim() == 2 else t.unsqueeze(0)
                return [t[b] for b in range(t.shape[0])]

        else:
            if x.dim() == 2:  # unbatched (T, F)
                first = [x[0]]
            else:
                first = [x[b, 0] for b in range(x.shape[0])] if self.batch_first else [x[0, b] for b in range(x.shape[1])]

            def half(t):
                if t is None:
                    return [None] * len(first)
                if t.dim() == 2:  # unbatched (L*D, H)
                    return [t]
                return [t[:, b] for b in range(t.shape[1])]

        hs, cs = half(self.h), half(self.c)
        if len(hs) != len(first) or len(cs) != len(first):
            return []
        return list(zip(first, hs, cs))


def _caller() -> str:
    """Where the user's code called the module: file:line in the function, and the function that
    called that one (the state often goes wrong a frame above the module call)."""
    frames = []
    frame = sys._getframe(2)
    while frame is not None and len(frames) < 2:
        name = frame.f_code.co_filename
        if not (f"{os.sep}torch{os.sep}" in name or f"{os.sep}gru2lstm{os.sep}verify{os.sep}" in name):
            frames.append(frame)
        frame = frame.f_back
    if not frames:
        return ""
    inner = frames[0]
    text = f"{inner.f_code.co_filename}:{inner.f_lineno} in {inner.f_code.co_name}"
    if len(frames) > 1 and frames[1].f_code.co_filename == inner.f_code.co_filename:
        text += f", called from {frames[1].f_code.co_name} at line {frames[1].f_lineno}"
    return text


def _kind(module: nn.Module) -> str:
    if isinstance(module, nn.LSTM):
        return "lstm"
    if isinstance(module, nn.GRU):
        return "gru"
    if isinstance(module, nn.LSTMCell):
        return "lstm_cell"
    if isinstance(module, nn.GRUCell):
        return "gru_cell"
    return "rnn_cell" if isinstance(module, nn.RNNCellBase) else "rnn"


class Recorder:
    """Hooks the recurrent modules of one model; `phase` and `step` are set by the harness."""

    def __init__(self, model: Any) -> None:
        self.calls: list = []
        self.phase = "setup"
        self.step = -1
        self.enabled = True
        self._handles = []
        self.modules = recurrent_modules(model)
        for name, module in self.modules:
            self._handles.append(module.register_forward_hook(self._hook(name), with_kwargs=True))

    def _hook(self, name: str):
        def hook(module, args, kwargs, output):
            if not self.enabled:
                return
            x = args[0] if args else kwargs.get("input")
            if len(args) > 1:
                hx = args[1]
            else:
                hx = kwargs.get("hx")
            packed = isinstance(x, nn.utils.rnn.PackedSequence)
            cell = isinstance(module, nn.RNNCellBase)
            out_state = output if cell else (output[1] if isinstance(output, tuple) and len(output) > 1 else None)
            hx_rg = False
            if isinstance(hx, torch.Tensor):
                hx_rg = hx.requires_grad
            elif isinstance(hx, (tuple, list)):
                hx_rg = any(isinstance(t, torch.Tensor) and t.requires_grad for t in hx)
            self.calls.append(
                Call(
                    index=len(self.calls),
                    module=name,
                    kind=_kind(module),
                    phase=self.phase,
                    step=self.step,
                    grad=torch.is_grad_enabled(),
                    x=_clone(x),
                    hx=_clone(tuple(hx) if isinstance(hx, list) else hx),
                    hx_requires_grad=hx_rg,
                    out=_clone(out_state),
                    cell=cell,
                    batch_first=bool(getattr(module, "batch_first", False)),
                    packed_input=packed,
                    where=_caller(),
                )
            )
            return

        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def of_phase(self, *phases: str) -> list:
        return [c for c in self.calls if c.phase in phases]
