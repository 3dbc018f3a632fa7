"""The rules of docs/rules.md, one module per step and kind of use, in one ordered registry per
form of the state. A use of a kind handled one at a time (a binding, a call, a consumption) goes
to the first rule of the registry that handles it; a program-wide kind runs each of its rules.

Adding a kind of use is one rule module (with its examples) and one line here.
"""

from __future__ import annotations

from gru2lstm.rules.annotations import Annotations, TupleImport
from gru2lstm.rules.by_name import ByName
from gru2lstm.rules.batch import Batch, BatchedConsumed, GrownReturn, GrowingReturnBinding, GrownUnpacking
from gru2lstm.rules.call import CallResult, CellResultChain, ChoiceIntoSplit, PairIntoSplit, RecurrentCall, UnpackedPair
from gru2lstm.rules.creation import Creation, LearnedInitialState
from gru2lstm.rules.docs import Docs
from gru2lstm.rules.gates import GateWise
from gru2lstm.rules.features import CallArguments, CellOutput, FeatureBinding, FeatureConsumption, FeaturesKept, NoneTest, PlainCellCall, StateAsSize, StateGradient
from gru2lstm.rules.interfaces import Interfaces
from gru2lstm.rules.kept import Reset, RowsReset, Update
from gru2lstm.rules.module import RecurrentModule
from gru2lstm.rules.module_reach import AttributeByName, ClassByName, ModuleHandedToCaller, ModuleHook, OldCheckpoint
from gru2lstm.rules.outputs import OutputAsState, StackedInput
from gru2lstm.rules.packed import PackedAllocation, PackedCall, PackedKept, PackedUnfollowed
from gru2lstm.rules.packed_arithmetic import PackedAlongHidden, PackedArithmetic, PackedOperand
from gru2lstm.rules.packed_values import PackedUniformValues
from gru2lstm.rules.parts import BoundParts, ConsumedParts, Joins
from gru2lstm.rules.pieces import Pieces
from gru2lstm.rules.slicing import DerivedSplit, PartnerNames, SplitSource
from gru2lstm.rules.stack import Stack
from gru2lstm.rules.storage import FeaturesIntoHolder, RecordArrayOfStates, Storage, UntracedIntoState
from gru2lstm.rules.tensor_ops import AugmentedInPlace, Halfwise, InPlaceOp, InPlaceRead
from gru2lstm.rules.torchscript import TorchScriptLists, TorchScriptSignatures, TorchScriptSplit, TorchScriptState
from gru2lstm.rules.unfollowed import (
    CannotFollow,
    ForeignValue,
    HolderHandedOver,
    ChainedFeatures,
    KindTested,
    DictTakenForSequence,
    KeyNotWrittenOut,
    MixedIteration,
    KeyedWrite,
    MixedKeyedRead,
    ModuleHandedOver,
    OpaqueIntoHolder,
    OwnPart,
    PackedKeyedRead,
    StateHandedOver,
    StateIterated,
    StateZipped,
    UndecidedArithmetic,
    UnfollowedCallPart,
)

# The kinds of use, in the order the engine walks them (bindings, calls and consumptions one at a time).
WALK = ("reference", "interface", "split name", "pieces", "binding", "call", "return", "unpacking", "consumption", "iteration", "keys read by name", "arithmetic", "annotation", "compiled", "prose", "import")

TUPLE_RULES = [
    RecurrentModule(),
    ModuleHandedToCaller(),  # first: it takes every use of its kind (what is not the module is only read)
    ModuleHook(),
    AttributeByName(),
    GateWise(),
    OldCheckpoint(),
    Interfaces(),
    ByName(),
    ClassByName(),
    PartnerNames(),  # before any rule that writes a partner name
    Pieces(),  # before the bindings, which would pair a piece as a chain of the state
    # bindings: whole values first, then by what the value is (None, a call, a name, a batch,
    # a chain), with the findings for what no rule covers last
    Joins(),
    OwnPart(),  # before BoundParts, which would take `(states,)` part by part
    ChoiceIntoSplit(),  # before BoundParts, which would take the options one by one
    BoundParts(),
    OpaqueIntoHolder(),
    KeyedWrite(),
    RecordArrayOfStates(),  # before the rules that would pair or double its creation
    UntracedIntoState(),
    FeaturesIntoHolder(),  # before FeatureBinding, which would read h alone into a holder of states
    InPlaceRead(),  # before the feature rules, for bindings and consumptions
    ChainedFeatures(),  # before FeatureBinding, which would read h where another target keeps the pair
    FeatureBinding(),  # every rule below binds a state
    LearnedInitialState(),  # before any rule that would pair its tensor
    GrowingReturnBinding(),
    Reset(),
    CallResult(),
    CellResultChain(),
    UnfollowedCallPart(),  # before UnpackedPair, which takes every other part of an unpacking
    UnpackedPair(),
    SplitSource(),
    PairIntoSplit(),
    RowsReset(),  # before Update and Storage: rows of a preallocated state are no container's element
    Update(),  # the names moved whole that no rule above split or paired
    Stack(),  # before Batch, which takes every other concatenation
    Batch(),
    DerivedSplit(),
    ForeignValue(),
    Creation(),
    Storage(),
    Halfwise(),
    FeaturesKept(),
    CannotFollow(),
    # calls
    StackedInput(),
    OutputAsState(),
    PlainCellCall(),
    RecurrentCall(),
    CallArguments(),
    # returns and unpackings, after the bindings that split what they return
    GrownReturn(),
    GrownUnpacking(),
    # consumptions: parts first, the rewrites by kind of use, then what no rule covers
    ConsumedParts(),
    CellOutput(),
    BatchedConsumed(),
    ModuleHandedOver(),
    StateIterated(),
    StateZipped(),
    MixedIteration(),
    DictTakenForSequence(),
    KeyNotWrittenOut(),
    MixedKeyedRead(),
    HolderHandedOver(),  # every rule below takes a state
    KindTested(),  # before FeatureConsumption, which would read it as h
    StateGradient(),  # before NoneTest: `h.grad is None` tests the gradient
    NoneTest(),
    InPlaceOp(),  # a dropped result is no feature
    AugmentedInPlace(),
    StateAsSize(),  # before FeatureConsumption, which would read it as h
    FeatureConsumption(),
    StateHandedOver(),
    Annotations(),
    TorchScriptLists(),  # before TorchScriptState, which reports the containers it cannot make
    TorchScriptState(),
    TorchScriptSignatures(),
    Docs(),
    TupleImport(),
]

PACKED_RULES = [
    RecurrentModule(),
    ModuleHandedToCaller(),
    ModuleHook(),
    AttributeByName(),
    GateWise(),
    OldCheckpoint(),
    Interfaces(),
    ByName(),
    ClassByName(),
    Pieces(),
    OwnPart(),
    BoundParts(),  # a dict or tuple literal that holds a state: each part is its own binding
    OpaqueIntoHolder(),
    KeyedWrite(),
    PackedUnfollowed(),
    UnfollowedCallPart(),
    FeaturesKept(),
    UndecidedArithmetic(),
    RecordArrayOfStates(),  # before the rules that would pair or double its creation
    UntracedIntoState(),
    FeaturesIntoHolder(),  # before FeatureBinding, which would read h alone into a holder of states
    PackedAllocation(),
    InPlaceRead(),
    ChainedFeatures(),
    FeatureBinding(),
    StackedInput(),
    OutputAsState(),
    PlainCellCall(),
    PackedCall(),
    CallArguments(),
    ConsumedParts(),
    PackedKept(),  # where the tuple form batches, pairs or halves, the packed tensor stays
    ModuleHandedOver(),
    PackedUniformValues(),  # before MixedIteration, which reports the rest
    MixedIteration(),
    DictTakenForSequence(),
    KeyNotWrittenOut(),
    PackedKeyedRead(),
    HolderHandedOver(),
    KindTested(),
    StateGradient(),
    NoneTest(),
    InPlaceOp(),
    AugmentedInPlace(),
    PackedOperand(),  # before FeatureConsumption, which would read it as h
    StateAsSize(),
    FeatureConsumption(),
    StateHandedOver(),
    PackedArithmetic(),  # after every rule that doubles a size
    PackedAlongHidden(),
    TorchScriptSplit(),  # after PackedCall, whose split it makes a tuple
    Docs(),
]


def registry(packed: bool) -> list:
    """The rules of one form of the state, in order."""
    return PACKED_RULES if packed else TUPLE_RULES


# Every rule once, tuple form first (for the examples and docs/rules.md).
RULES = list({type(rule): rule for rule in TUPLE_RULES + PACKED_RULES}.values())
