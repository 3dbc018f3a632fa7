"""States made or kept by containers the engine now follows (session 26): a dataclass field whose
default factory makes the state, `dict.update()` with a mapping or keywords, a state cut per
environment with `unbind` and joined back, and the containers a batch computes where it is written.
Each project is migrated, then run with every LSTM watched (it must get (h, c), some c non-zero),
or refused with the finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

FORMS = ["tuple", "packed"]


def migrated(tmp_path, form: str, source: str) -> str:
    """Migrate the one-file project `source` (as `runner.py`) in `form`, run its `main()`, give its text."""
    write(tmp_path, {"pyproject.toml": "", "runner.py": source})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runner\nrunner.main()\n")
    return (tmp_path / "runner.py").read_text()


# ---------------------------------------------------------------- a dataclass field made by a default factory
MEMORY = """\
    from dataclasses import dataclass, field

    import torch
    import torch.nn as nn

    B, H = 3, 6


    def fresh_hidden():
        return torch.zeros(1, B, H)


    @dataclass
    class Memory:
        hidden: torch.Tensor = field(default_factory={factory})
        steps: int = 0


    def main():
        rnn = nn.GRU(4, H)
        memory = Memory()
        for _ in range(4):
            y, memory.hidden = rnn(torch.randn(1, B, 4), memory.hidden)
            memory.steps += 1
        return memory
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_dataclass_field_made_by_a_lambda_migrates(tmp_path, form):
    # `field(default_factory=lambda: torch.zeros(...))` was G2L101 at `field(...)`
    text = migrated(tmp_path, form, MEMORY.replace("{factory}", "lambda: torch.zeros(1, B, H)"))
    if form == "tuple":
        assert "hidden: tuple[torch.Tensor, torch.Tensor] = field(default_factory=lambda: (torch.zeros(1, B, H), torch.zeros(1, B, H)))" in text
    else:
        assert "field(default_factory=lambda: torch.zeros(1, B, 2 * H))" in text


@pytest.mark.parametrize("form", FORMS)
def test_a_dataclass_field_made_by_a_function_of_the_program_migrates(tmp_path, form):
    text = migrated(tmp_path, form, MEMORY.replace("{factory}", "fresh_hidden"))
    assert "field(default_factory=fresh_hidden)" in text
    assert ("torch.zeros(1, B, 2 * H)" if form == "packed" else "        torch.zeros(1, B, H),\n        torch.zeros(1, B, H),\n") in text


def test_a_dataclass_field_made_by_a_partial_is_refused(tmp_path, capsys):
    # a factory the engine cannot run: the field is where the state comes from unfollowed
    source = MEMORY.replace("{factory}", "partial(torch.zeros, 1, B, H)").replace("import torch\n", "from functools import partial\n\n    import torch\n", 1)
    write(tmp_path, {"pyproject.toml": "", "runner.py": source})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "runner.py:17:28: G2L101 `hidden` holds the hidden state returned by `field(default_factory=partial(torch.zeros, 1, B, H))`" in capsys.readouterr().out


PER_ID = """\
    from collections import defaultdict

    import torch
    import torch.nn as nn


    def fresh_hidden():
        return torch.zeros(1, 1, 5)


    def main():
        rnn = nn.GRU(4, 5)
        states = defaultdict(fresh_hidden)
        for t in range(4):
            for i in ([0, 1] if t % 2 else [1]):
                _, states[i] = rnn(torch.randn(1, 1, 4), states[i])
        return states
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_defaultdict_whose_factory_is_a_function_of_the_program_migrates(tmp_path, form):
    migrated(tmp_path, form, PER_ID)


# ---------------------------------------------------------------- dict.update() with a mapping or keywords
CORES = """\
    import torch
    import torch.nn as nn


    def main():
        actor, critic = nn.GRU(3, 5), nn.GRU(3, 5)
        states = {}
        states.update({"actor": torch.zeros(1, 2, 5), "critic": torch.zeros(1, 2, 5)})
        for t in range(4):
            _, ha = actor(torch.randn(1, 2, 3), states["actor"])
            _, hc = critic(torch.randn(1, 2, 3), states["critic"])
            {update}
        return states
"""

UPDATES = {
    "literal": 'states.update({"actor": ha, "critic": hc})',
    "keywords": "states.update(actor=ha, critic=hc)",
    "mapping": 'new = {"actor": ha}\n            new["critic"] = hc\n            states.update(new)',
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("update", UPDATES)
def test_a_dict_of_states_updated_from_a_mapping_or_keywords_migrates(tmp_path, form, update):
    # each was G2L101 "passed to `states.update`"
    text = migrated(tmp_path, form, CORES.replace("{update}", UPDATES[update]))
    if form == "tuple":
        assert '"actor": (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5))' in text


def test_a_cells_split_state_updated_by_keyword_is_given_as_a_pair(tmp_path):
    source = """\
        import torch
        import torch.nn as nn


        def main():
            cell = nn.GRUCell(3, 5)
            states = {}
            hx = torch.zeros(2, 5)
            for t in range(4):
                hx = cell(torch.randn(2, 3), hx)
                states.update(actor=hx, step=t)
                hx = states["actor"]
            return states
    """
    text = migrated(tmp_path, "tuple", source)
    assert "states.update(actor=(hx, cx), step=t)" in text


def test_a_dict_parameter_updated_with_a_state_is_refused(tmp_path, capsys):
    # the engine cannot tell that `states` is a dict: nothing is written
    source = CORES.replace("{update}", "refresh(states, ha, hc)") + """
    def refresh(states, ha, hc):
        states.update({"actor": ha, "critic": hc})
"""
    write(tmp_path, {"pyproject.toml": "", "runner.py": source})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "runner.py:16:5: G2L101 `states` holds hidden states and is updated by `states.update()`, whose values are followed only into a dict made in the program" in out


# ---------------------------------------------------------------- a batch of states cut per environment
PER_ENV = """\
    import torch
    import torch.nn as nn

    N, H = 3, 5


    def main():
        gru = nn.GRU(4, H)
        per_env = [torch.zeros(1, 1, H) for _ in range(N)]
        for t in range(4):
            out, h = gru(torch.randn(1, N, 4), torch.cat(per_env, 1))
            per_env = []
            for i, h_i in enumerate(h.unbind(1)):
                if t == 2 and i == 0:
                    h_i = torch.zeros_like(h_i)
                per_env.append(h_i.unsqueeze(1))
        return per_env
"""

AS_LIST = """\
    import torch
    import torch.nn as nn

    N, H = 3, 5


    def main():
        gru = nn.GRU(4, H)
        h = torch.zeros(1, N, H)
        hs = list(h.unbind(dim=1))
        for t in range(4):
            out, h = gru(torch.randn(1, N, 4), torch.stack(hs, 1))
            hs = list(h.unbind(dim=1))
            if t == 2:
                hs[0] = torch.zeros(1, H)
        return hs
"""

CELL_ROWS = """\
    import torch
    import torch.nn as nn

    N, H = 3, 5


    class Agent:
        def __init__(self):
            self.cell = nn.GRUCell(4, H)
            self.head = nn.Linear(H, 2)
            self.states = [torch.zeros(H) for _ in range(N)]

        def act(self, obs):
            h = self.cell(obs, torch.stack(self.states, 0))
            self.states = list(h.unbind(0))
            return self.head(h)

        def reset(self, i):
            self.states[i] = torch.zeros(H)


    def main():
        agent = Agent()
        for t in range(4):
            agent.act(torch.randn(N, 4))
            if t == 1:
                agent.reset(2)
        return agent.states
"""


@pytest.mark.parametrize("form", FORMS)
def test_per_env_states_cut_by_unbind_and_joined_back_migrate(tmp_path, form):
    text = migrated(tmp_path, form, PER_ENV)
    if form == "tuple":
        assert "for i, h_i in enumerate(list(zip(h[0].unbind(1), h[1].unbind(1)))):" in text


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dim", ["dim=1", "-2"])
def test_a_list_of_unbound_states_stacked_back_migrates(tmp_path, form, dim):
    text = migrated(tmp_path, form, AS_LIST.replace("dim=1", dim))
    if form == "tuple":
        assert f"hs = list(zip(h[0].unbind({dim}), h[1].unbind({dim})))" in text


@pytest.mark.parametrize("form", FORMS)
def test_a_cells_rows_unbound_into_a_list_migrate(tmp_path, form):
    text = migrated(tmp_path, form, CELL_ROWS)
    if form == "tuple":
        assert "self.states = list(zip(h.unbind(0), c.unbind(0)))" in text


REJOINED = """\
    import torch
    import torch.nn as nn

    N, H = 3, 5


    def main():
        gru = nn.GRU(4, H)
        h = torch.zeros(1, N, H)
        for t in range(4):
            out, h = gru(torch.randn(1, N, 4), h)
            h = torch.stack(tuple(p.clone() for p in h.unbind(dim=1)), dim=1)
        return h
"""


@pytest.mark.parametrize("form", FORMS)
def test_pieces_of_a_state_copied_in_a_generator_and_stacked_back_migrate(tmp_path, form):
    # tuple: `zip(*tuple(p.clone() for p in list(zip(h.unbind(dim=1), c.unbind(dim=1)))))`, exit 0, AttributeError
    text = migrated(tmp_path, form, REJOINED)
    if form == "tuple":
        assert "h = torch.stack(tuple(p[0].clone() for p in list(zip(h.unbind(dim=1), c.unbind(dim=1)))), dim=1)" in text


# ---------------------------------------------------------------- containers a batch computes where it is written
BATCHED = """\
    import torch
    import torch.nn as nn

    N, H = 3, 5


    def main():
        gru = nn.GRU(4, H)
        kept = [torch.zeros(1, 1, H) for _ in range(N)]
        for t in range(4):
            h = torch.cat({container}, 1)
            out, h = gru(torch.randn(1, N, 4), h)
            kept = [h[:, i:i + 1] for i in range(N)]
        return kept
"""

CONTAINERS = {
    # each was left a chain on a pair before `zip(*C)` (exit 0, AttributeError: 'tuple' object has no attribute 'clone')
    "tuple(s.clone() for s in kept)": "h = torch.cat(tuple(s[0].clone() for s in kept), 1)",
    "list(map(lambda s: s.clone(), kept))": "h = torch.cat(list(map(lambda s: s[0].clone(), kept)), 1)",
    "[kept[0].clone(), kept[1], kept[2].detach()]": "zip(*[(kept[0][0].clone(), kept[0][1].clone()), kept[1], (kept[2][0].detach(), kept[2][1].detach())])",
    "list(reversed([s.clone() for s in kept]))": "zip(*list(reversed([(s[0].clone(), s[1].clone()) for s in kept])))",
}


@pytest.mark.parametrize("container", CONTAINERS)
def test_tuple_a_container_computed_where_it_is_batched_gets_pairs(tmp_path, container):
    text = migrated(tmp_path, "tuple", BATCHED.replace("{container}", container))
    assert CONTAINERS[container] in text


EXTENDED = """\
    import torch
    import torch.nn as nn

    N, H = 3, 5


    def main():
        gru = nn.GRU(4, H)
        h = torch.zeros(1, N, H)
        kept = []
        for t in range(4):
            out, h = gru(torch.randn(1, N, 4), h)
            kept.extend(h.detach().squeeze(0).unbind(0))
            h = torch.stack(kept[-N:], 0).unsqueeze(0)
        return kept
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_list_extended_by_the_rows_of_a_state_migrates(tmp_path, form):
    # packed: the cut was read as features (`h.chunk(2, dim=-1)[0]...`), so `kept` held h alone (exit 0, broken)
    text = migrated(tmp_path, form, EXTENDED)
    expected = "kept.extend(h.detach().squeeze(0).unbind(0))" if form == "packed" else "kept.extend(list(zip(h.detach().squeeze(0).unbind(0), c.detach().squeeze(0).unbind(0))))"
    assert expected in text
