"""Rule 6 for `torch.stack`: stored pairs stacked into a new dimension (`T = torch.stack(C)`)
become `hs, cs = zip(*C)` and a stack of each half (`T`, `T_c`), like a concatenation; where no
line can be added, the pair of a stack of each half in place."""

from __future__ import annotations

import libcst as cst

from gru2lstm.values import VCat
from gru2lstm.vocab import STACK_NAME
from gru2lstm.rules.base import BindingUse, Invalid, StateBindingRule, Valid
from gru2lstm.rules.batch import batch


def _is_stack(cat: VCat) -> bool:
    func = cat.node.func
    name = func.attr if isinstance(func, cst.Attribute) else func
    return isinstance(name, cst.Name) and name.value == STACK_NAME  # torch.stack, np.stack, `from torch import stack`


class Stack(StateBindingRule):
    step = "batch"
    summary = "`T = torch.stack(C)` of stored pairs: `hs, cs = zip(*C)` and a stack of each half"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRUCell(8, 16)
                    self.mem = []

                def act(self, x, h):
                    h = self.gru(x, h)
                    self.mem.append(h)
                    return h

                def learn(self, x):
                    h_steps = torch.stack(self.mem)  # (T, n, 16)
                    return self.gru(x, h_steps[-1])
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.lstm = nn.LSTMCell(8, 16)
                    self.mem = []

                def act(self, x, h):
                    h = self.lstm(x, h)
                    self.mem.append(h)
                    return h

                def learn(self, x):
                    hs, cs = zip(*self.mem)
                    h_steps = torch.stack(hs)  # (T, n, 16)
                    c_steps = torch.stack(cs)  # (T, n, 16)
                    return self.lstm(x, (h_steps[-1], c_steps[-1]))
            """,
        ),
    )
    invalid = (
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRUCell(8, 16)
                    self.mem = []

                def act(self, x, h):
                    h = self.gru(x, h)
                    self.mem.append(h)
                    return h

                def recent(self):
                    return self.mem[-4:]

                def learn(self, x):
                    self.h_steps = torch.stack(self.recent())
                    return self.gru(x, self.h_steps[-1])
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        return isinstance(leaf, VCat) and _is_stack(leaf)

    def rewrite(self, ctx, use: BindingUse) -> None:
        batch(ctx, use)
