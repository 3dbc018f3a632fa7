"""Code the engine refused although it could migrate it soundly (session 28): each project is
migrated in every form, then run, and its LSTM must get (h, c) with a non-zero c; the variants
that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

RNN_AGENT = """\
    import torch.nn as nn
    import torch.nn.functional as F


    class RNNAgent(nn.Module):
        def __init__(self, input_shape, rnn_hidden_dim=8, n_actions=3, **kwargs):
            super().__init__()
            self.rnn_hidden_dim = rnn_hidden_dim
            self.fc1 = nn.Linear(input_shape, rnn_hidden_dim)
            self.rnn = nn.GRUCell(rnn_hidden_dim, rnn_hidden_dim)
            self.fc2 = nn.Linear(rnn_hidden_dim, n_actions)

        def init_hidden(self):
            return self.fc1.weight.new_zeros(1, self.rnn_hidden_dim)

        def forward(self, inputs, hidden_state):
            x = F.relu(self.fc1(inputs))
            h = self.rnn(x, hidden_state.reshape(-1, self.rnn_hidden_dim))
            return self.fc2(h), h
"""

KEYED_MAC = {
    "modules/agents/__init__.py": """\
        from .rnn_agent import RNNAgent

        REGISTRY = {}
        REGISTRY["rnn"] = RNNAgent
    """,
    "modules/agents/rnn_agent.py": RNN_AGENT,
    "controller.py": """\
        import logging

        from modules.agents import REGISTRY as agent_REGISTRY


        class MAC:
            def __init__(self, args):
                self.n_agents = args.n_agents
                agent_cls = agent_REGISTRY.get(args.agent)
                if agent_cls is None:
                    raise ValueError(args.agent)
                logging.info(f"agent {args.agent}")
                self.agent = agent_cls(4, **vars(args))
                self.hidden_states = None

            def reset(self, batch_size):
                self.hidden_states = self.agent.init_hidden().unsqueeze(0).expand(batch_size, self.n_agents, -1)

            def forward(self, inputs):
                q, self.hidden_states = self.agent(inputs, self.hidden_states)
                return q.view(-1, self.n_agents, 3)
    """,
    "pyproject.toml": "",
}

DRIVE_MAC = """\
    import types

    import torch
    from controller import MAC

    mac = MAC(types.SimpleNamespace(agent="rnn", n_agents=2, rnn_hidden_dim=8, n_actions=3))
    for episode in range(2):
        mac.reset(3)
        qs = [mac.forward(torch.randn(6, 4)) for t in range(4)]
    torch.stack(qs).pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_the_registry_key_given_to_an_exception_is_no_instance_escaping(tmp_path, form):
    # `args.agent` beside the controller's own `self.agent`: read as `.get()`'s key, it names a class
    write(tmp_path, KEYED_MAC)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, DRIVE_MAC)


def test_a_key_attribute_written_with_an_instance_after_the_lookup_stays_refused(tmp_path, capsys):
    controller = KEYED_MAC["controller.py"].replace(
        "self.agent = agent_cls(4, **vars(args))",
        "args.agent = agent_cls(4, **vars(args))\n                pickle.dumps(args.agent)\n                self.agent = args.agent",
    ).replace("import logging\n", "import logging\n        import pickle\n")
    write(tmp_path, {**KEYED_MAC, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    # written in the function, `args.agent` is no sure key there: read as the only class with an `agent`
    assert f"{tmp_path / 'controller.py'}:12:30: G2L101 an instance of `RNNAgent` is passed to `ValueError`" in capsys.readouterr().out
