"""findings.new_finding: the one constructor of findings."""

import pytest

from gru2lstm.findings import Finding, new_finding


def test_a_finding_of_the_whole_file_is_placed_at_1_1():
    assert new_finding("G2L200", "already an LSTM") == Finding(1, 1, "G2L200", "already an LSTM")


def test_a_finding_keeps_its_place():
    assert new_finding("G2L100", "why", 3, 7) == Finding(3, 7, "G2L100", "why")


def test_an_undocumented_code_fails_where_the_finding_is_made():
    with pytest.raises(ValueError, match="G2L999"):
        new_finding("G2L999", "no such code")
