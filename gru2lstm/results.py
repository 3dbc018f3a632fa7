"""Plain, picklable results of a migration, per step and per file, and why a file failed (FileError)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from gru2lstm.findings import Finding

# The steps of the migration, in the order of the spec (seed 004), with the words the report uses.
STEPS: dict[str, str] = {
    "module": "1. recurrent module GRU -> LSTM",
    "creation": "2. hidden-state creation -> (h, c)",
    "update": "3. hidden-state update",
    "call": "4. recurrent call",
    "storage": "5. rollout storage of (h, c)",
    "batch": "6. batch preparation (h_states, c_states)",
    "slicing": "7. minibatch slicing of both halves",
    "reset": "8. reset semantics",
    "init": "9. weight-init isinstance branch",
    "pending": "pending-state storage",
    "halfwise": "per-tensor ops on both halves (detach, masks, ...)",
    "features": "only h feeds the heads",
    "annotations": "type annotations",
    "docs": "docstrings and comments",
}

# Steps that never rewrite anything: they report the sites they checked and kept.
KEPT_STEPS = frozenset({"update", "reset"})


@dataclass(frozen=True)
class StepRecord:
    """The lines one step of the migration touched (or, for kept steps, checked)."""

    step: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class InterfaceChange:
    """A function whose parameters or return become (h, c): its callers must pass and take the pair."""

    line: int
    column: int
    function: str  # "Policy.forward"
    carriers: str  # "the parameter `h` and the return value"
    called: bool  # some caller was found, and migrated with it
    parameters: tuple = ()  # the names of its parameters that take the state
    positions: tuple = ()  # their positions among the positional parameters (after `self`)
    inside: bool = False  # a parameter holds the state inside a container (`inputs["rnn"][0]`)
    # G2L101s held back until no code of the project is known to call it: functions beside it that
    # nothing calls either and return a new tensor shaped like the state (`initial_state()`)
    unpaired: tuple = ()
    # only the return holds the state, inside a container (`return {"h": self.h}`): a caller reads it,
    # so a file not given that imports it is a finding, but with no caller it is no guess to warn of
    returned_inside: bool = False


@dataclass(frozen=True)
class ChangedMember:
    """An attribute of a class that code in other files may read: it holds the hidden state (which
    becomes (h, c)), or the recurrent module (which becomes an LSTM, its attribute maybe renamed),
    or, in packed form, it is the size a state is allocated with (which doubles)."""

    line: int
    column: int
    owner: str  # the class ("Agent"); "" for a size read from an object of unknown class
    name: str  # "hidden", "recurrent_hidden_state_size"
    sizes: bool  # True: a size of the packed state; False: the state itself (or the module)
    module: bool = False  # True: it holds the recurrent module (`agent.gru`)


@dataclass(frozen=True)
class UncalledModule:
    """A GRU made in a file none of whose calls was analysed (its G2L101 sits at `line`:`column`):
    the project's files that import what holds it are the ones that call it."""

    line: int
    column: int
    made: str  # the construction, as written: `nn.GRU(4, 8)`
    imported_as: str  # the class that holds it, or its module-level name


@dataclass(frozen=True)
class FormFallback:
    """A form `--state auto` planned and did not take, and the finding that kept it out, for the
    report: its first choice when it took the other one, or the other one when both failed."""

    refused: str  # "packed" or "tuple"
    code: str  # "G2L100"; "G2L202" when it changed a contract no analysed caller follows
    path: str  # the key of the module the finding is in (the path as given)
    line: int


@dataclass
class Migration:
    """What migrating one module's source produced."""

    source: str  # the new source; equal to the input when nothing changed
    changed: bool
    steps: list[StepRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    state_form: Optional[str] = None  # "tuple" or "packed"; None when there is no GRU
    form_fallback: Optional[FormFallback] = None  # set when auto took its second choice of form
    other_form: Optional[FormFallback] = None  # set when auto's first choice refused and so would the second
    sites_found: int = 0
    sites_migrated: int = 0
    reached: tuple = ()  # files not migrated with this one that the analysed code calls into
    interface: tuple = ()  # InterfaceChanges of the functions defined in it
    members: tuple = ()  # ChangedMembers of its classes (and sizes it reads), for files that were not migrated with it
    uncalled: tuple = ()  # UncalledModules: GRUs made in it whose calls are elsewhere, for the files that make them
    untied_reads: frozenset = frozenset()  # attribute reads (`cfg.hidden`, as ast.unparse spells them) of objects shown to be no instance of the class with that attribute

    @property
    def blocked(self) -> bool:
        return any(f.blocks_write for f in self.findings)


@dataclass(frozen=True)
class FileError:
    """Why a file could not be migrated or written, at a place in it (1:1 when it names none)."""

    line: int
    column: int
    message: str


@dataclass
class FileResult:
    """The outcome for one path, as the report and the exit policy see it."""

    path: str
    status: str  # "unchanged" | "changed" | "needs_attention" | "error"
    migration: Optional[Migration] = None
    error: Optional[FileError] = None  # for status "error"
    written: bool = False
    diff: str = ""
    verification: Optional[str] = None  # with --verify: what the checks said, and what was done
    group: tuple = ()  # the paths changed together with this one, when they share hidden states
