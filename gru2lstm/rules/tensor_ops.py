"""Per-tensor operations and masks on a state held as a pair: a chain (`h.detach()`, `h * mask`,
`h.squeeze(0)` that stays a state, `h.clamp(-5, 5)`) is run on each half, `(h[0].detach(), h[1].detach())`,
and so is an elementwise join of two states, with each one's half (`torch.where(done, fresh, h)`); an
in-place operation whose result is dropped (`h.detach_()`, `h[:, done].zero_()`) acts on each
half (packed: on the whole tensor, left as it is), and so does an augmented assignment (`h *= m`:
`h[0].mul_(m)`, `h[1].mul_(m)`); one whose result is read as features (`head(h.mul_(m))`) is a
finding, since a features read takes h alone."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import BY_HAND, Consumption, Use
from gru2lstm.syntax import walk
from gru2lstm.values import ReturnSlot, Value, VArith, VCallOf, VDerived, VSlot
from gru2lstm.qualnames import module_imports, qualify
from gru2lstm.vocab import IN_PLACE_OPERATORS, SIZE_SCALED_INITS
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule, Valid, in_place_call, takes_a_state
from gru2lstm.rules.pairs import carried_states, halves, pair_expression, split_target
from gru2lstm.rules.storage import landed_chain


class Halfwise(StateBindingRule):
    step = "halfwise"
    summary = (
        "a per-tensor chain or mask of a pair, or an elementwise join of two (`torch.where(done, fresh, h)`), bound to a "
        "local name, runs on each half; a state that a call returns given to it (`h.index_copy(1, done, "
        "net.init_hidden(k))`) is a finding: assign it to a name first"
    )
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                fresh = torch.zeros(1, 1, 8)
                out, h = core(torch.randn(1, 1, 4), h)
                h = torch.where(torch.tensor(t == 1), fresh, h.clamp(-1, 1))
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 1, 8),
                torch.zeros(1, 1, 8),
            )
            for t in range(3):
                fresh = (
                    torch.zeros(1, 1, 8),
                    torch.zeros(1, 1, 8),
                )
                out, h = core(torch.randn(1, 1, 4), h)
                h = (torch.where(torch.tensor(t == 1), fresh[0], h[0].clamp(-1, 1)), torch.where(torch.tensor(t == 1), fresh[1], h[1].clamp(-1, 1)))
            """,
        ),
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            mask = torch.ones(1, 1, 1)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h = h * mask
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 1, 8),
                torch.zeros(1, 1, 8),
            )
            mask = torch.ones(1, 1, 1)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h = (h[0] * mask, h[1] * mask)
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return landed_chain(ctx, use) or joins_states(ctx, use.value)

    def rewrite(self, ctx, use: BindingUse) -> None:
        top = ctx.solution.resolved(use.value).node
        given = _state_given_by_a_call(ctx, top)
        if given is not None:
            # `h.index_copy(1, done, net.init_hidden(k))`: written once per half, each half would get the pair
            ctx.find("G2L100", given.node, (
                f"`{ctx.code(given.node)}` returns a hidden state and is given to `{ctx.code(ctx.parents[ctx.parents[given.node]])}`, "
                f"which the engine writes once per half of the pair, so each half would get the whole pair; assign "
                f"`{ctx.code(given.node)}` to a name first"
            ))
            return
        pair_expression(ctx, use.value, "halfwise")
        if ctx.solution.is_split(use.binding.target) and top is not None and ctx.is_rewritten(top):
            # `new = keep * h + (1 - keep) * new` where `new, new_c = cell(x, h)`: both names get their half
            split_target(ctx, use.binding)


def _state_given_by_a_call(ctx, top: Optional[cst.CSTNode]) -> Optional[VCallOf]:
    """A call in `top`, given as an argument, of a function of the program that returns a hidden
    state (`net.init_hidden(k)` of `h.index_copy(1, done, net.init_hidden(k))`), else None."""
    if top is None:
        return None
    arguments = {id(node.value) for node in walk(top) if isinstance(node, cst.Arg)}
    return next((
        call for call in ctx.flow.calls
        if id(call.node) in arguments and (callee := ctx.solution.forwarded.get(id(call))) is not None
        and ctx.solution.is_state(ReturnSlot.of(callee.key))
    ), None)


class AugmentedInPlace(Rule):
    step = "halfwise"
    uses = ("consumption",)
    summary = (
        "a state changed by an augmented assignment (`h *= mask`, `hidden[:, done] *= 0`) is changed so on each half, "
        "the pair itself by the in-place method the operator runs (`h[0].mul_(mask)`); packed, as a whole"
    )
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 3, 4), h)
                h *= torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1)
                h[:, 1] *= 0.5
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 3, 8),
                torch.zeros(1, 3, 8),
            )
            for t in range(3):
                out, h = core(torch.randn(1, 3, 4), h)
                h[0].mul_(torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1))
                h[1].mul_(torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1))
                h[0][:, 1] *= 0.5
                h[1][:, 1] *= 0.5
            """,
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 3, 4), h)
                h **= 2
            """,
            "G2L100",
            state="tuple",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        # Its target, when a state; its value, a state too (`h += 0.1 * h_old`): each half is taken
        # with the target's.
        augmented = ctx.parents.get(use.node)
        if use.context != Use.AUGASSIGN or not isinstance(augmented, cst.AugAssign):
            return False
        return _changed_state(ctx, augmented) is not None and (use.node is augmented.target or takes_a_state(ctx, use))

    def apply(self, ctx, use: Consumption) -> None:
        augmented = ctx.parents[use.node]
        if use.node is augmented.value:
            return  # the value of a state's augmented assignment: written with its target
        changed = _changed_state(ctx, augmented)
        ctx.site(augmented)
        if ctx.packed:
            ctx.step("halfwise", augmented)  # the packed tensor changes in place as a whole (widths: packed_arithmetic.py)
            return
        line = ctx.parents.get(augmented)
        method = IN_PLACE_OPERATORS.get(type(augmented.operator).__name__)
        leaf = ctx.solution.resolutions.leaf_of(changed.left if isinstance(changed, VArith) else changed.base)
        whole = isinstance(leaf, VSlot) and leaf.node is augmented.target and not ctx.solution.is_split(leaf.slot)
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or (whole and method is None):
            ctx.find(
                "G2L100", augmented,
                f"the hidden state is changed in place by `{ctx.code(augmented)}`, which the engine writes on each half "
                f"only for `*=`, `+=`, `-=` and `/=`, in a statement of its own; {BY_HAND}",
            )
            return
        made = halves(ctx, changed)
        if made is None:
            return

        def half(position):
            def edit(updated_line, mapping):
                changed = made[position](mapping(augmented), mapping)
                if whole:  # a tuple has no item to assign: the half changes by the operator's method
                    changed = cst.Expr(cst.Call(cst.Attribute(changed.target, cst.Name(method)), [cst.Arg(changed.value)]))
                return updated_line.with_changes(body=[changed])
            return edit

        ctx.plan.statements[line] = [half(0), half(1)]
        ctx.step("halfwise", augmented)


def _changed_state(ctx, augmented: cst.AugAssign) -> Optional[Value]:
    """What an augmented assignment that changes a state is, as the solver settled the arithmetic
    of its target and value: the target kept (VDerived) when only it is a state, the VArith when
    both are; None when its target is no state (`total += h`: a finding where h is used)."""
    changed = ctx.solution.resolved(ctx.augmented[id(augmented)])
    if isinstance(changed, VArith):
        both = ctx.solution.value_is_state(changed.left) and ctx.solution.value_is_state(changed.right)
        return changed if both else None
    return changed if isinstance(changed, VDerived) and changed.base.node is augmented.target else None


def joins_states(ctx, value: Value) -> bool:
    """Is `value` an elementwise join of two states (`torch.where(done, fresh, h)`, `h - h_old`),
    through any per-tensor chain? Each half joins the same halves of both."""
    return isinstance(ctx.solution.resolutions.leaf_of(value), VArith) and bool(carried_states(ctx, value))


class InPlaceOp(Rule):
    step = "halfwise"
    uses = ("consumption",)
    summary = (
        "an operation on a state whose result is dropped (`h.mul_(mask)`, `h.add_(h_old)`) acts on each half; packed, on the whole "
        "tensor, except an initialiser that scales by the tensor's sizes (`nn.init.xavier_uniform_(h)`), a finding there"
    )
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h.detach_()
                h[:, 0].zero_()
                h = h.squeeze_(0).unsqueeze_(0).to("cpu")
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 1, 8),
                torch.zeros(1, 1, 8),
            )
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                (h[0].detach_(), h[1].detach_())
                (h[0][:, 0].zero_(), h[1][:, 0].zero_())
                h = (h[0].squeeze_(0).unsqueeze_(0).to("cpu"), h[1].squeeze_(0).unsqueeze_(0).to("cpu"))
            """,
        ),
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h.mul_(0.5)
            """,
            """
            core = nn.LSTM(4, 8)
            h = torch.zeros(1, 1, 2 * 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h.chunk(2, dim=-1))
                h = torch.cat(h, dim=-1)
                h.mul_(0.5)
            """,
            state="packed",
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.empty(1, 3, 8)
            nn.init.xavier_uniform_(h)
            out, h = core(torch.randn(1, 3, 4), h)
            """,
            "G2L100",
            state="packed",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        # Before the feature rules: a dropped result is no feature, only its side effect counts.
        return use.context == Use.DISCARD and (takes_a_state(ctx, use) or joins_states(ctx, use.value))

    def apply(self, ctx, use: Consumption) -> None:
        # A dropped state harms nothing; an in-place op on it (`h.mul_(mask)`, `h.add_(h_old)`)
        # must act on each half, which a packed tensor's op does already, unless it reads the sizes
        # of the whole tensor (`nn.init.xavier_uniform_(h)`).
        if ctx.packed and isinstance(use.node, cst.Call) and qualify(use.node.func, module_imports(ctx.module_of(use.node)), set()) in SIZE_SCALED_INITS:
            ctx.find("G2L100", use.node, (
                f"`{ctx.code(use.node)}` draws the hidden state's values at a scale it computes from the tensor's sizes; in the "
                "packed form the state is h and c side by side, twice as wide, so the scale would change; use --state tuple "
                "(each half is drawn as the GRU's state was), or initialise h and c apart by hand"
            ))
        elif not ctx.packed and not isinstance(use.value, VSlot):
            pair_expression(ctx, use.value, "halfwise")


class InPlaceRead(Rule):
    uses = ("binding", "call", "consumption")
    summary = "an in-place operation on a state whose result is read as features (`head(h.mul_(m))`) is a finding: it would change h alone"
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            head = nn.Linear(8, 2)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                q = head(h.mul_(0.5))
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use) -> bool:
        # Before the feature rules, which read `h` alone: the c half would keep what h lost.
        return bool(self._reads(ctx, use))

    def apply(self, ctx, use) -> None:
        for call in self._reads(ctx, use):
            ctx.find("G2L100", call, (
                f"`{ctx.code(call)}` changes the hidden state in place and reads it as features, which would change h and "
                f"not c; use `.{call.func.attr.value}()` in a statement of its own, then read the state"
            ))

    def _reads(self, ctx, use) -> list:
        """The in-place calls of the chains of a state that `use` reads as features."""
        if isinstance(use, VCallOf):  # `head(h.mul_(m))`: a module of the program's heads
            func = ctx.solution.resolved(use.func)
            called = id(use) in ctx.solution.forwarded or id(use) in ctx.solution.recurrent_calls
            if called or not (isinstance(func, VSlot) and ctx.solution.is_module(func.slot)):
                return []
            values = [value for _, value, _ in use.args]
        elif isinstance(use, BindingUse):
            values = [use.value] if not ctx.solution.is_state(use.binding.target) else []
        else:
            values = [use.value] if use.context != Use.DISCARD else []
        found = []
        for value in values:
            leaf = ctx.solution.resolutions.leaf_of(value)
            call = in_place_call(ctx, value)
            # an in-place join (`kept = self.h.copy_(new)`, `h.mul_(m)` of two states) has no single leaf
            if call is not None and (isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot) or joins_states(ctx, value)):
                found.append(call)
        return found
