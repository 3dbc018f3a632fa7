"""names.pair_shapes: a docstring's shape of a state that becomes a pair says the pair's."""

from gru2lstm.names import pair_shapes

DOC = """Step the core with hidden state.

    Args:
        x: input of shape (B, T, D)
        hidden: a tensor of shape (num_layers, B, H)
        h0 (torch.Tensor):
            shape [L, N, H], zeros at reset
        mask: (B, T, 1)
    Returns:
        out (B, T, H) and the new hidden, (1, B, H)
    """
NAMES = frozenset({"hidden", "h0"})


def test_the_state_entries_say_each_half_and_the_other_shapes_stay():
    assert pair_shapes(DOC, NAMES) == """Step the core with hidden state.

    Args:
        x: input of shape (B, T, D)
        hidden: (h, c), each a tensor of shape (num_layers, B, H)
        h0 (torch.Tensor):
            (h, c), each of shape [L, N, H], zeros at reset
        mask: (B, T, 1)
    Returns:
        out (B, T, H) and the new hidden, (h, c), each (1, B, H)
    """


def test_a_second_pass_changes_nothing():
    once = pair_shapes(DOC, NAMES)
    assert pair_shapes(once, NAMES) == once


def test_a_summary_line_that_names_the_state_does_not_open_an_entry():
    doc = """Forward pass with hidden state.

        state: [batch, seq_len, state_dim]
    """
    assert pair_shapes(doc, frozenset({"hidden"})) == doc
