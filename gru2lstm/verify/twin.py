"""Deterministic twins of the recurrent cores, for `equivalence`.

A twin keeps the module object (so aliases, `isinstance` checks, attributes such as
`hidden_size`/`batch_first` and the optimizer's references all stay as they were) and only swaps
its class for a subclass whose `forward` is fixed and parameter-free:

    h' = tanh(x A^T + h U^T + b)                      (GRU and LSTM twins alike)
    c' = 0.5 c + tanh(x V^T + h W^T)                  (LSTM twin only)

A, U, b, V, W are drawn from a private generator keyed by the layer, the direction and the
sizes, so the GRU twin of the original and the LSTM twin of the rewrite have the same h
dynamics bit for bit, while the LSTM twin carries a c that differs from h and depends on the c
it was given. The module's own weights are left in place and get no gradient.
"""

from __future__ import annotations

import torch
from torch import nn


class TwinError(Exception):
    pass


_WEIGHTS: dict = {}


def _weights(layer: int, direction: int, in_size: int, hidden: int, device, dtype) -> tuple:
    key = (layer, direction, in_size, hidden, str(device), dtype)
    if key not in _WEIGHTS:
        generator = torch.Generator().manual_seed(7919 + 1009 * layer + 101 * direction + in_size * 13 + hidden)
        a = torch.randn(hidden, in_size, generator=generator) / in_size**0.5
        u = torch.randn(hidden, hidden, generator=generator) * (0.5 / hidden**0.5)
        b = torch.randn(hidden, generator=generator) * 0.1
        v = torch.randn(hidden, in_size, generator=generator) / in_size**0.5
        w = torch.randn(hidden, hidden, generator=generator) * (0.5 / hidden**0.5)
        _WEIGHTS[key] = tuple(t.to(device=device, dtype=dtype).t().contiguous() for t in (a, u)) + (
            b.to(device=device, dtype=dtype),
            v.to(device=device, dtype=dtype).t().contiguous(),
            w.to(device=device, dtype=dtype).t().contiguous(),
        )
    return _WEIGHTS[key]


def _step_h(x, h, weights):
    a, u, b, _, _ = weights
    return torch.tanh(x.contiguous() @ a + h.contiguous() @ u + b)


def _step_c(x, h, c, weights):
    _, _, _, v, w = weights
    return 0.5 * c.contiguous() + torch.tanh(x.contiguous() @ v + h.contiguous() @ w)


def _run_sequence(module, input, hx, with_c: bool):
    if isinstance(input, nn.utils.rnn.PackedSequence):
        raise TwinError("PackedSequence inputs are not supported by the twin core")
    if getattr(module, "proj_size", 0):
        raise TwinError("LSTM proj_size is not supported by the twin core")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0 if module.batch_first else 1)
    if module.batch_first:
        x = x.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    layers = module.num_layers
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    if with_c:
        if hx is None:
            h0 = c0 = x.new_zeros(layers * directions, batch, hidden)
        else:
            h0, c0 = hx
            if not batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
    else:
        h0 = x.new_zeros(layers * directions, batch, hidden) if hx is None else (hx if batched else hx.unsqueeze(1))
        c0 = None
    layer_input = x
    h_n, c_n = [], []
    for layer in range(layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            weights = _weights(layer, direction, layer_input.shape[-1], hidden, x.device, x.dtype)
            h = h0[index]
            c = c0[index] if with_c else None
            out = [None] * steps
            order = range(steps) if direction == 0 else reversed(range(steps))
            for t in order:
                h_new = _step_h(layer_input[t], h, weights)
                if with_c:
                    c = _step_c(layer_input[t], h, c, weights)
                h = h_new
                out[t] = h
            outputs.append(torch.stack(out))
            h_n.append(h)
            if with_c:
                c_n.append(c)
        layer_input = torch.cat(outputs, dim=-1) if directions > 1 else outputs[0]
    output = layer_input
    if module.batch_first:
        output = output.transpose(0, 1)
    h_n = torch.stack(h_n)
    c_n = torch.stack(c_n) if with_c else None
    if not batched:
        output = output.squeeze(0 if module.batch_first else 1)
        h_n = h_n.squeeze(1)
        c_n = c_n.squeeze(1) if with_c else None
    return output, ((h_n, c_n) if with_c else h_n)


class _TwinGRU:
    def forward(self, input, hx=None):
        return _run_sequence(self, input, hx, with_c=False)


class _TwinLSTM:
    def forward(self, input, hx=None):
        return _run_sequence(self, input, hx, with_c=True)


def _cell(module, input, hx, with_c: bool):
    batched = input.dim() == 2
    x = input if batched else input.unsqueeze(0)
    hidden = module.hidden_size
    weights = _weights(0, 0, x.shape[-1], hidden, x.device, x.dtype)
    if with_c:
        if hx is None:
            h = c = x.new_zeros(x.shape[0], hidden)
        else:
            h, c = hx
            if not batched:
                h, c = h.unsqueeze(0), c.unsqueeze(0)
        h_new = _step_h(x, h, weights)
        c_new = _step_c(x, h, c, weights)
        return (h_new, c_new) if batched else (h_new.squeeze(0), c_new.squeeze(0))
    h = x.new_zeros(x.shape[0], hidden) if hx is None else (hx if batched else hx.unsqueeze(0))
    h_new = _step_h(x, h, weights)
    return h_new if batched else h_new.squeeze(0)


class _TwinGRUCell:
    def forward(self, input, hx=None):
        return _cell(self, input, hx, with_c=False)


class _TwinLSTMCell:
    def forward(self, input, hx=None):
        return _cell(self, input, hx, with_c=True)


def _mixin_for(module: nn.Module):
    if isinstance(module, nn.LSTM):
        return _TwinLSTM
    if isinstance(module, (nn.GRU, nn.RNN)):
        return _TwinGRU
    if isinstance(module, nn.LSTMCell):
        return _TwinLSTMCell
    if isinstance(module, (nn.GRUCell, nn.RNNCell)):
        return _TwinGRUCell
    raise TwinError(f"no twin for {type(module).__name__}")


def make_twin(module: nn.Module) -> None:
    """Turn `module` (in place) into its deterministic twin."""
    cls = type(module)
    mixin = _mixin_for(module)
    module.__class__ = type(f"Twin{cls.__name__}", (mixin, cls), {"__module__": __name__})
