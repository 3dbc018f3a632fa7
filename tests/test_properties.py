"""Properties of the engine over generated code, with a fixed example budget.

- on any valid Python: never crashes, never changes a file without a GRU;
- on a recurrent model whose every name is drawn at random: the output parses, a second run
  changes nothing, and it is exactly the LSTM model with the same names (spelling does not matter).
"""

from __future__ import annotations

import keyword
import os

import pytest

import hypothesmith
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gru2lstm.migrate import SourceError, migrate_source

# No shrinking: a failure prints its example as drawn; shrinking generated source can take minutes.
BUDGET = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)


@BUDGET
@given(hypothesmith.from_grammar())
def test_any_valid_python_without_gru_is_left_as_it_is(source):
    try:
        migration = migrate_source(source)
    except SourceError:
        return  # LibCST's grammar is narrower than CPython's in a few corners; said, not crashed.
    assert not migration.changed
    assert migration.source == source


# Names whose partner is not `<name>_c` (h -> c, hidden -> cell, …) have their own unit tests.
PARTNER_WORDS = {"h", "hx", "hxs", "hn", "h0", "hid", "hidden", "hiddens"}
RESERVED = set(keyword.kwlist) | PARTNER_WORDS | {"self", "torch", "nn", "zip", "hs", "cs", "Tuple", "Optional", "None", "tuple"}
identifiers = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(lambda n: n not in RESERVED)

TEMPLATE = '''import torch
{import_line}
from typing import Optional, Tuple


class {model}({base}.Module):
    def __init__(self, n):
        super().__init__()
        self.{core} = {ctor}(n, n)
        self.{head} = {base}.Linear(n, 2)
        self.{live}: Optional[torch.Tensor] = None
        self.{store} = []

    def {act}(self, {x}):
        if self.{live} is None:
            self.{live} = {create}
        {out}, {new} = self.{core}({x}, self.{live})
        self.{store}.append({saved})
        self.{live} = {new}
        return self.{head}({out})

    def {prep}(self) -> Tuple[torch.Tensor, torch.Tensor]:
        {batch}
        return {batched}, {batched}.sum()

    def {learn}(self, {x}, {idx}):
        {batched}, {total} = self.{prep}()
        {mb} = {batched}[:, {idx}]
        {out}, _ = self.{core}({x}, {pair_mb})
        return {out}
'''

BEFORE = dict(
    create="torch.zeros(1, 1, 4)",
    saved="{new}.detach()",
    batch="{batched} = torch.cat(self.{store}, dim=1)",
    pair_mb="{mb}",
)

AFTER = dict(
    create="(\n                torch.zeros(1, 1, 4),\n                torch.zeros(1, 1, 4),\n            )",
    saved="({new}[0].detach(), {new}[1].detach())",
    batch="hs, cs = zip(*self.{store})\n        {batched} = torch.cat(hs, dim=1)\n        {batched}_c = torch.cat(cs, dim=1)",
    pair_mb="({mb}, {mb}_c)",
)


@BUDGET
@given(
    names=st.lists(identifiers, min_size=12, max_size=12, unique=True),
    spelling=st.sampled_from(["nn", "torch.nn", "alias"]),
)
def test_the_spelling_of_names_does_not_matter(names, spelling):
    keys = ["model", "core", "head", "live", "store", "act", "x", "out", "new", "prep", "batched", "learn"]
    values = dict(zip(keys, names))
    values.update(idx=values["x"] + "i", mb=values["batched"] + "m", total=values["out"] + "t")
    ctor = {"nn": "nn.{}", "torch.nn": "torch.nn.{}", "alias": "RNN"}[spelling]
    imports = {"nn": "from torch import nn", "torch.nn": "import torch.nn", "alias": "from torch import nn\nfrom torch.nn import {} as RNN"}[spelling]
    base = "torch.nn" if spelling == "torch.nn" else "nn"

    def render(parts, kind):
        filled = {k: v.format(**values) for k, v in parts.items()}
        return TEMPLATE.format(
            **values, **filled, base=base, ctor=ctor.format(kind), import_line=imports.format(kind)
        )

    before = render(BEFORE, "GRU")
    after = render(AFTER, "LSTM")
    after = after.replace("Optional[torch.Tensor]", "Optional[Tuple[torch.Tensor, torch.Tensor]]")
    after = after.replace("-> Tuple[torch.Tensor, torch.Tensor]:", "-> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:")
    after = after.replace(f"return {values['batched']}, {values['batched']}.sum()", f"return {values['batched']}, {values['batched']}_c, {values['batched']}.sum()")
    after = after.replace(f"{values['batched']}, {values['total']} = self.", f"{values['batched']}, {values['batched']}_c, {values['total']} = self.")
    after = after.replace(f"        {values['mb']} = {values['batched']}[:, {values['idx']}]\n", f"        {values['mb']} = {values['batched']}[:, {values['idx']}]\n        {values['mb']}_c = {values['batched']}_c[:, {values['idx']}]\n")
    if values["core"].split("_")[0] == "gru":
        return
    migration = migrate_source(before)
    assert migration.findings == []
    assert migration.source == after
    compile(migration.source, "<migrated>", "exec")
    assert migrate_source(migration.source).source == migration.source


def test_the_installed_torch_package_never_crashes_the_engine():
    """Real code written by other people: every file of torch itself that mentions GRU goes
    through the engine directly (no prefilter in between) without an internal error."""
    torch = pytest.importorskip("torch")

    mentions = []
    for folder, _, names in os.walk(os.path.dirname(torch.__file__)):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    data = handle.read()
                if b"GRU" in data:
                    mentions.append((os.path.join(folder, name), data))
    assert len(mentions) > 10
    crashes = []
    for path, data in mentions:
        try:
            migrate_source(data.decode("utf-8"))
        except SourceError:
            pass  # said, not crashed
        except Exception as error:  # noqa: BLE001 - the point is that nothing else escapes
            crashes.append((path, repr(error)))
    assert crashes == []


def test_the_installed_torch_package_as_a_folder_gives_no_error():
    """The same tree run as a user runs a folder: files that import each other are migrated as
    groups (project.py), so whole-program flows across torch's own files meet the engine too."""
    torch = pytest.importorskip("torch")
    from gru2lstm.discovery import DEFAULT_EXCLUDE, Selection
    from gru2lstm.engine import RunOptions, run

    # --exclude (here the default pattern) turns .gitignore files off, as in black: site-packages
    # may lie in a checkout that ignores it (pyenv's ignores versions/), which would skip it all.
    selection = Selection(exclude=DEFAULT_EXCLUDE)
    results = run([os.path.dirname(torch.__file__)], RunOptions(write=False, selection=selection))
    assert len(results) > 1000
    assert [(r.path, r.error) for r in results if r.status == "error"] == []
