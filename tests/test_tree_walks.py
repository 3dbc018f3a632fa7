"""The engine's own tree walks give what LibCST's would: children.children is `node.children`,
migrate.parent_map is ParentNodeProvider's map in its order (flow.py and plan.py iterate it)."""

from pathlib import Path

import libcst as cst
import libcst.metadata as meta
import pytest

from gru2lstm.children import children
from gru2lstm.migrate import parent_map

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
INPUTS = sorted(FIXTURES.glob("*/input.py")) + sorted(FIXTURES.glob("*/input/**/*.py"))


@pytest.mark.parametrize("path", INPUTS, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_parent_map_is_libcsts_in_its_order(path):
    module = cst.parse_module(path.read_text())
    expected = meta.MetadataWrapper(module, unsafe_skip_copy=True).resolve(meta.ParentNodeProvider)
    found = parent_map(module)
    assert [(id(node), id(parent)) for node, parent in found.items()] == [
        (id(node), id(parent)) for node, parent in expected.items()
    ]


@pytest.mark.parametrize("path", INPUTS, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_children_are_libcsts(path):
    module = cst.parse_module(path.read_text())
    for node in [module, *parent_map(module)]:
        assert [id(child) for child in children(node)] == [id(child) for child in node.children]
