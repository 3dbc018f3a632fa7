"""TorchScript: a function compiled by TorchScript (`@torch.jit.script_method`, `@torch.jit.script`,
`@torch.jit.export`) types every parameter, local, list and return as written, a `Tensor` unless
annotated, and an LSTM cell there takes a `Tuple[Tensor, Tensor]`: the pair needs that type in every
list, parameter and return that holds it, and a packed state needs a split TorchScript types as a
tuple (`chunk` gives a list). The engine writes neither, so a compiled function that would hold the
state is a finding (G2L100) in either form."""

from __future__ import annotations

from gru2lstm.values import DefSlot, ReturnSlot
from gru2lstm.rules.base import Invalid, Rule


def state_names(ctx, key) -> list:
    """The names (and `the return value`) of a function that would hold the state, in order."""
    solution = ctx.solution
    names = [
        f"`{definition.name}`"
        for def_id, definition in ctx.flow.defs.items()
        if definition.function is not None and definition.function.key == key and solution.is_state(DefSlot.of(def_id))
    ]
    names = list(dict.fromkeys(names))
    if solution.is_state(ReturnSlot.of(key)):
        names.append("the return value")
    return names


class TorchScriptState(Rule):
    step = None
    uses = ("torchscript",)
    summary = "a function compiled by TorchScript that would hold the state (h, c) is a finding"
    invalid = (
        Invalid(
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.GRUCell(4, 8)

                @torch.jit.script_method
                def forward(self, x, h):
                    return self.cell(x, h)
            """,
            "G2L100",
        ),
    )

    def apply(self, ctx, use) -> None:
        for key, decorator in ctx.flow.torchscript.items():
            names = state_names(ctx, key)
            if not names:
                continue
            function = ctx.flow.functions[key]
            ctx.find(
                "G2L100", function.node.name,
                f"`{function.display_name}()` is compiled by TorchScript (`@{decorator}`), which types each value as written; "
                f"{', '.join(names)} would hold (h, c), and the engine does not write the `Tuple[Tensor, Tensor]` types "
                "TorchScript needs for it; migrate this function by hand, annotating what holds the pair",
            )
