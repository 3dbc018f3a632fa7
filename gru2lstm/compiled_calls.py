"""Calls that hand a module or function to torch to run or compile it: `torch.jit.trace`,
`torch.onnx.export` (the module runs on the example inputs) and `torch.jit.script` (TorchScript
compiles it, rules/torchscript.py). A base of the call walk (calls.py), as followed_calls.py is."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.followed_calls import FollowedCalls
from gru2lstm.program import BindingKind, DefinitionKind, FunctionInfo, Use
from gru2lstm.summaries import feature_parameters
from gru2lstm.values import ChildSlot, DefSlot, Derivation, PosLabel, Value, VDerived, VSlot


class CompiledCalls(FollowedCalls):
    def _traced(self, node: cst.Call) -> Value:
        """`torch.jit.trace(policy, (x, h0))`, `torch.onnx.export(policy, (x, h0), path)`: the module
        runs on the example inputs as `policy(x, h0)` would. When the walk knows the module here (an
        instance of a program class) and the inputs are a tuple written out or a name, its forward()'s
        parameters receive them; else a state among them is reported (read as features it would
        lose c; passed on, its form would be unchecked). The traced module stands for the module."""
        module = self.expr(node.args[0].value)
        inputs = node.args[1].value if len(node.args) > 1 and node.args[1].keyword is None else None
        forward = self._traced_forward(node.args[0].value, inputs)
        if forward is not None:
            if self.recording:
                self.flow.ran(node, forward.key)
            # a parameter forward() only reads as features is read here, as at its other calls
            # (followed_calls._read_as_features): bound, forward() would read `feat[0]` at them too
            features = feature_parameters(forward, self.flow)
            if isinstance(inputs, cst.Tuple):
                given = {param.name: (self.expr(element.value), element.value) for param, element in zip(forward.params, inputs.elements)}
                for param, element in zip(forward.params, inputs.elements):
                    value = given[param.name][0]
                    if param.name in features:
                        self._read_as_features(forward, features[param.name], value, element.value, given)
                    else:
                        self._bind(DefSlot.of(id(param.node.name)), value, BindingKind.ARG, element.value, element.value)
            else:
                # `example = (x, h0)` first: each parameter takes its position of what the name holds
                held = self.expr(inputs)
                for position, param in enumerate(forward.params if isinstance(held, VSlot) else ()):
                    part = VSlot(ChildSlot.of(held.slot, PosLabel.of(position)), None)
                    if param.name in features:  # its position of the tuple cannot be read apart here
                        self.consume(part, Use.OTHER, inputs, (
                            f"handed to `{self.code(node.func)}` for the parameter `{param.name}` of `{forward.display_name}()`, which "
                            "only reads it as features, in a tuple held by a name, which the engine cannot read apart there"
                        ))
                        continue
                    self._bind(DefSlot.of(id(param.node.name)), part, BindingKind.ARG, inputs, inputs)
                if not isinstance(held, VSlot):
                    forward = None  # a name of nothing known: as a module not known here
        why = f"handed to `{self.code(node.func)}` as an input of the module it runs, which the engine does not follow"
        if forward is None:
            # the module runs on inputs bound to nothing here: one whose forward() changes is a finding
            self.consume(module, Use.OTHER, node.args[0].value, f"run by `{self.code(node.func)}` on example inputs")
        for arg in node.args[1 if forward is None else 2:]:
            written = arg.value  # `(x, h0)`: each input apart, so that a finding names the state
            items = [element.value for element in written.elements] if isinstance(written, (cst.Tuple, cst.List)) else [written]
            for item in items:
                self.consume(self.expr(item), Use.OTHER, item, why)
        return VDerived(module, node, Derivation.KEEP)

    def _scripted(self, node: cst.Call) -> Value:
        """`torch.jit.script(policy)`, `torch.jit.script(Policy())`, `torch.jit.script(f)`: TorchScript
        compiles the module's forward() or the function, as a decorator would have it compile them
        (rules/torchscript.py); what it is given unknown, it may be any module of the program's.
        The compiled module stands for the module."""
        given = node.args[0].value
        owner = self._instance_of(given) if not isinstance(given, cst.Call) else self.resolve_class(given.func)
        compiled = self.flow.forward_of(owner) if owner is not None else None
        if compiled is None:
            found = self.resolve(given)
            compiled = self.flow.functions.get(found.key) if found is not None and found.kind == DefinitionKind.FUNCTION else None
        if self.recording:
            if compiled is not None:
                self.flow.torchscript[compiled.key] = f"handed to `{self.code(node.func)}`"
            else:
                self.flow.scripted_unknown.append(self.code(node))
        return VDerived(self.expr(given), node, Derivation.KEEP)

    def _traced_forward(self, module_node: cst.CSTNode, inputs) -> Optional[FunctionInfo]:
        """The forward() a trace runs: of a module of the program known here, on a tuple of inputs
        written out that its parameters take one by one, or held by a name; else None."""
        owner = self._instance_of(module_node)
        forward = None if owner is None else self.flow.forward_of(owner)
        if forward is None or forward.variadic:
            return None
        if isinstance(inputs, cst.Name):
            return forward  # a tuple held by a name: its positions (the parameters past its end take nothing)
        if not isinstance(inputs, cst.Tuple):
            return None
        if any(isinstance(element, cst.StarredElement) for element in inputs.elements) or len(inputs.elements) > len(forward.params):
            return None
        return forward
