"""Storage and pending state: a state that lands in a container (`buf.append(h.detach())`, an
element or key) or in an attribute (`self.pending = h.detach()`) is written as the pair of its
halves, each through the whole chain: `(h[0].detach(), h[1].detach())`. A holder of the state
that receives an array built from pieces the engine cannot trace to a state (`np.array([a[:3],
a[3:]])` on its way into storage) is a finding in either form."""

from __future__ import annotations

import libcst as cst

from gru2lstm.program import BindingKind
from gru2lstm.values import Derivation, LabelKind, SlotKind, VCat, VChoice, VContainer, VCreate, VSlot
from gru2lstm.rules.base import BindingUse, Invalid, StateBindingRule, Valid
from gru2lstm.rules.pairs import pair_expression
from gru2lstm.rules.unfollowed import holds_states


def landed_chain(ctx, use: BindingUse) -> bool:
    """A per-tensor chain of a state (not a read of it) bound as a whole."""
    resolutions = ctx.solution.resolutions
    return isinstance(resolutions.leaf_of(use.value), VSlot) and resolutions.chain_kind(use.value) != Derivation.READ


def storage_step(use: BindingUse):
    """"storage" into a container, "pending" into an attribute, None elsewhere."""
    binding = use.binding
    target = binding.target
    if binding.kind in (BindingKind.APPEND, BindingKind.STORE) or (
        target.kind == SlotKind.CHILD and target.label.kind in (LabelKind.ELEM, LabelKind.KEY)
    ):
        return "storage"
    if target.kind == SlotKind.ATTR:
        return "pending"
    return None


class Storage(StateBindingRule):
    step = "storage"
    summary = "a chain of a state stored in a container or an attribute becomes the pair of its halves"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)
                    self.memory = []

                def act(self, x, h):
                    out, h = self.core(x, h)
                    self.memory.append(h.detach())
                    self.pending = h.cpu()
                    return out, h
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)
                    self.memory = []

                def act(self, x, h):
                    out, h = self.core(x, h)
                    self.memory.append((h[0].detach(), h[1].detach()))
                    self.pending = (h[0].cpu(), h[1].cpu())
                    return out, h
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return landed_chain(ctx, use) and storage_step(use) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        pair_expression(ctx, use.value, storage_step(use))


def _traced(solution, value) -> bool:
    """Does some piece of the value come from a state, as far as the engine can tell?"""
    leaf = solution.resolutions.leaf_of(value)
    if solution.resolutions.chain_kind(value) == Derivation.READ:
        return False
    if isinstance(leaf, VSlot):
        return solution.is_state(leaf.slot) or solution.elements_are_state(leaf)
    if isinstance(leaf, VCat):
        return solution.rows_joined(leaf) is not None or _traced(solution, leaf.container)
    if isinstance(leaf, VContainer):
        return any(_traced(solution, item) for _, item in leaf.items)
    if isinstance(leaf, VChoice):  # `d.get(k, h0)`: the stored state or the default
        return any(_traced(solution, option) for option in leaf.options)
    return False


def _untraced(ctx, use: BindingUse) -> bool:
    """Is the value a list or an array built from pieces none of which the engine can trace to a
    state (a comprehension over `np.split(...)`, a list literal of slices of an array it does not
    know for one, `np.array(rows)` of a list into one array), though it lands in a state?"""
    solution = ctx.solution
    leaf = solution.resolutions.leaf_of(use.value)
    if isinstance(leaf, VSlot) and solution.is_container(leaf.slot):  # a list turned into an array
        stacked = ctx.packed and solution.elements_are_state(leaf)  # packed states stack as they are
        return not solution.is_container(use.binding.target) and not stacked
    return isinstance(leaf, (VCat, VContainer)) and not _traced(solution, use.value)


class UntracedIntoState(StateBindingRule):
    summary = "a holder of the state that receives an array built from pieces not traced to a state (`np.array([a[:3], a[3:]])`) is a finding"
    invalid = (
        Invalid(
            """
            import numpy as np


            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(4, 8)

                def forward(self, x, h):
                    out, h = self.core(x, h.transpose(0, 1))
                    return out, h.transpose(0, 1)


            def collect(net, store, t):
                _, h = net(torch.randn(1, 2, 4), torch.from_numpy(store[t]))
                h_np = h.detach().numpy()
                return np.array([h_np[:, :1], h_np[:, 1:]])


            net, store = Net(), np.zeros((5, 2, 1, 1, 8), np.float32)
            for t in range(4):
                row = collect(net, store, t)
                store[t + 1] = row
            """,
            "G2L101",
            state="packed",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return ctx.solution.is_state(use.binding.target) and _untraced(ctx, use)

    def rewrite(self, ctx, use: BindingUse) -> None:
        node = getattr(use.value, "node", None) or use.binding.statement
        ctx.find("G2L101", node, (
            f"{_received(ctx, use, node)}, built from pieces the engine "
            "cannot trace back to a state, so it cannot tell which of them must carry the cell state c as well; "
            "split the state itself into that array (`np.split(h, n)`, or `h.reshape(...)`), or migrate it by hand"
        ))


def _state_field(ctx, slot):
    """The constant key under which a part of the slot's value, at any depth, holds a state
    (`data[i]["h"]`, `data["h"][i]`), or None."""
    classes = ctx.solution.classes
    pending, seen = [(classes.find(slot), None)], set()
    while pending:
        root, key = pending.pop()
        if root in seen:
            continue
        seen.add(root)
        for label, part in classes.parts.get(root, {}).items():
            part_key = label.key if label.kind == LabelKind.KEY else key
            if part_key is not None and ctx.solution.is_state(part):
                return part_key
            pending.append((classes.find(part), part_key))
    return None


class RecordArrayOfStates(StateBindingRule):
    summary = (
        "a new array whose field holds states (a numpy record array, `np.zeros(n, dtype=[(\"h\", np.float32, (H,))])`, "
        "read and written as `data[i][\"h\"]`) is a finding: the field's width is part of its dtype, which the engine "
        "neither doubles nor pairs"
    )
    invalid = (
        Invalid(
            """
            import numpy as np

            core = nn.GRU(4, 8)
            data = np.zeros(5, dtype=[("obs", np.float32, (4,)), ("h", np.float32, (8,))])
            h = torch.zeros(1, 1, 8)
            for i in range(4):
                data[i]["h"] = h.reshape(-1).detach().numpy()
                out, h = core(torch.randn(1, 1, 4), h)
            out, _ = core(torch.randn(1, 2, 4), torch.from_numpy(data[[1, 3]]["h"]).unsqueeze(0))
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        target = use.binding.target
        return not ctx.solution.is_state(target) and _state_field(ctx, target) is not None and _creation(ctx, use.value) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        node = _creation(ctx, use.value)
        field = _state_field(ctx, use.binding.target)
        ctx.find("G2L100", node, (
            f"`{ctx.code(node)}` makes an array whose field `{field!r}` holds the hidden state; the field's width is "
            "part of the array's dtype, which the engine neither doubles nor splits into h and c, so the cell state "
            "would not fit in it; keep the states in an array of their own (`np.zeros((n, H))`), or migrate this by hand"
        ), once=True)


def _creation(ctx, value, seen=None):
    """The creation (`np.zeros(...)`) the value is, or is taken from by indexing or other keeping
    chains through the places it is bound to (`rows = data[idx]`), or None."""
    resolutions = ctx.solution.resolutions
    if resolutions.chain_kind(value) == Derivation.READ:
        return None
    leaf = resolutions.leaf_of(value)
    if isinstance(leaf, VCreate):
        return leaf.node
    if not isinstance(leaf, VSlot):
        return None
    seen = set() if seen is None else seen
    classes = ctx.solution.classes
    root = classes.find(leaf.slot)
    if root in seen:
        return None
    seen.add(root)
    for binding in ctx.flow.bindings:
        if classes.find(binding.target) == root:
            node = _creation(ctx, ctx.solution.resolved(binding.value), seen)
            if node is not None:
                return node
    return None


class FeaturesIntoHolder(StateBindingRule):
    summary = (
        "a holder of states (a list of per-env states) that receives a value made from a state by calls the engine "
        "reads as features (`np.split(h.numpy(), n, axis=1)`, `h.tolist()`) is a finding: read as h alone, c would be dropped"
    )
    invalid = (
        Invalid(
            """
            import numpy as np

            core = nn.GRU(4, 8)
            states = [np.zeros((1, 1, 8), np.float32) for _ in range(3)]
            for t in range(2):
                h = torch.from_numpy(np.concatenate(states, axis=1))
                out, h = core(torch.randn(1, 3, 4), h)
                states = np.split(h.numpy(), 3, axis=1)
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        target = use.binding.target
        if ctx.solution.is_state(target) or not holds_states(ctx, target):
            return False
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        return isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot) and leaf is not use.value

    def rewrite(self, ctx, use: BindingUse) -> None:
        # the call (a library's: `np.split`) gives no pieces the engine can pair, so it would read h alone
        node = getattr(use.value, "node", None) or use.binding.statement
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        ctx.find("G2L100", node, (
            f"{_received(ctx, use, node)}, made from the hidden state `{ctx.code(leaf.node)}` by calls the engine "
            "reads as its features (h alone), so the cell state c would be dropped from what it holds; split the state "
            "with `torch.split` or `unbind` (which the engine follows) before converting the pieces, or split h and c "
            "each into it by hand"
        ))


def _received(ctx, use: BindingUse, node) -> str:
    """The place of the state that receives `node` and what `node` is there: `buf` given a list of
    `s.clone()` by `buf.append([s.clone() for s in states])`, a name assigned, a return."""
    binding = use.binding
    parent = ctx.parents.get(node)
    if isinstance(parent, (cst.ListComp, cst.GeneratorExp, cst.SetComp)) and parent.elt is node:
        what = f"a list of `{ctx.code(node)}` (`{ctx.code(parent)}`)"
    elif isinstance(parent, cst.Element) and isinstance(ctx.parents.get(parent), (cst.List, cst.Tuple, cst.Set)):
        what = f"the element `{ctx.code(node)}` of `{ctx.code(ctx.parents[parent])}`"
    else:
        what = f"`{ctx.code(node)}`"
    if binding.target_node is not None:
        return f"`{ctx.code(binding.target_node)}` holds the hidden state, but here it receives {what}"
    if binding.kind == BindingKind.RETURN:
        return f"this return holds the hidden state, but it is {what}"
    container = _stored_into(ctx, binding.statement, node)
    if container is not None:
        return f"`{ctx.code(container)}` holds hidden states, but here it is given {what}"
    return f"a place that holds the hidden state receives {what} here"


def _stored_into(ctx, statement, node):
    """The container the outermost method call of `statement` around `node` stores it into (`buf`
    of `buf.append(torch.stack(...))`), or None."""
    container = None
    while node is not None and node is not statement:
        node = ctx.parents.get(node)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            container = node.func.value
    return container
