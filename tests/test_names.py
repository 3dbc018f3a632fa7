import pytest

from gru2lstm.names import lstm_name, lstm_prose, partner_name


@pytest.mark.parametrize(
    "name, partner",
    [
        ("h_states", "c_states"),
        ("mb_h_states", "mb_c_states"),
        ("hidden_states", "cell_states"),
        ("hxs", "cxs"),
        ("hx", "cx"),
        ("h", "c"),
        ("h0", "c0"),
        ("rnn_states", "rnn_states_c"),
        ("memory", "memory_c"),
    ],
)
def test_partner_name(name, partner):
    assert partner_name(name) == partner


@pytest.mark.parametrize(
    "name, new",
    [("gru", "lstm"), ("actor_gru", "actor_lstm"), ("GRU", "LSTM"), ("Gru_core", "Lstm_core"), ("rnn", None), ("grumpy", None)],
)
def test_lstm_name(name, new):
    assert lstm_name(name) == new


def test_lstm_prose_changes_words_only():
    assert lstm_prose("# GRU hidden state for the gru (GRUCell, GRUs)") == "# LSTM hidden state for the lstm (LSTMCell, LSTMs)"
    assert lstm_prose("# _forward_gru and GRU_SIZE stay") == "# _forward_gru and GRU_SIZE stay"
    assert lstm_prose("A GRU core, not a gru") == "An LSTM core, not an lstm"


def test_lstm_prose_leaves_lines_that_contrast_the_two():
    text = "# Swap the GRU for an LSTM (the GRU has fewer parameters)\n# a GRU core\n"
    assert lstm_prose(text) == "# Swap the GRU for an LSTM (the GRU has fewer parameters)\n# an LSTM core\n"
    assert lstm_prose("nn.GRU if use_gru else nn.LSTM") == "nn.GRU if use_gru else nn.LSTM"


def test_lstm_prose_finds_words_next_to_cjk_letters():
    assert lstm_prose("# 使用GRU网络保存隐藏状态") == "# 使用LSTM网络保存隐藏状态"
