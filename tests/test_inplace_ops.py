"""A state moved by in-place reshapes and device moves (`h.squeeze_(0).cpu()`, kga2c) is handled
per half; a decoder state made of a plain layer's features is refused with a finding that says so."""

from __future__ import annotations

import textwrap

from gru2lstm.cli import main

SOURCE = textwrap.dedent('''\
    import torch
    import torch.nn.functional as F
    from torch import nn


    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.fch = nn.Linear(8, 8)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return out, h


    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return out, h


    encoder, decoder = Encoder(), Decoder()
    out, h = encoder(torch.randn(3, 2, 4), torch.zeros(1, 2, 8))
    DECODER_STATE
    out, h = decoder(torch.randn(1, 2, 4), state)
''')


def rewrite(tmp_path, line: str, capsys) -> tuple:
    path = tmp_path / "seq2seq.py"
    path.write_text(SOURCE.replace("DECODER_STATE", line))
    code = main(["rewrite", "--quiet", str(path)])
    return code, capsys.readouterr().out, path.read_text()


def test_in_place_reshapes_and_device_moves_run_on_each_half(tmp_path, capsys):
    code, out, text = rewrite(tmp_path, "state = h.squeeze_(0).unsqueeze_(0).cpu()", capsys)
    assert code == 0, out
    assert "state = (h[0].squeeze_(0).unsqueeze_(0).cpu(), h[1].squeeze_(0).unsqueeze_(0).cpu())" in text
    namespace = {}
    exec(compile(text, str(tmp_path / "seq2seq.py"), "exec"), namespace)
    assert namespace["h"][1].abs().sum() > 0  # the decoder got the encoder's c


def test_a_state_made_of_a_plain_layers_features_is_refused_precisely(tmp_path, capsys):
    line = "state = F.relu(encoder.fch(out[-1:]))"
    code, out, text = rewrite(tmp_path, line, capsys)
    assert code == 1
    assert "features of the layer `encoder.fch`, which is not recurrent" in out, out
    assert text == SOURCE.replace("DECODER_STATE", line)


def test_an_in_place_operation_read_as_features_is_refused(tmp_path, capsys):
    line = "state = h\nq = encoder.fch(h.mul_(0.5))"
    code, out, text = rewrite(tmp_path, line, capsys)
    assert code == 1
    assert "`h.mul_(0.5)` changes the hidden state in place and reads it as features" in out, out
