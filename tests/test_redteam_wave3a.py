"""Red team, wave 3a (our own small code in the styles of CleanRL, Dreamer, RLlib and RL^2
projects): each case is migrated so that the program runs with (h, c) and a non-zero c, or
refused with a finding at the line — never written with one half dropped."""

from __future__ import annotations

import textwrap

import torch

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

HEADER = "import torch\nfrom torch import nn\n\n\n"


def migrate(body: str, state: str):
    return migrate_source(HEADER + textwrap.dedent(body), Options(state=state))


def blocking(migration) -> list:
    return [(f.code, f.line, f.message) for f in migration.findings if f.blocks_write]


def run_watched(source: str, policy_class: str, drive: str) -> list:
    """Exec the migrated source, build `policy_class`, and run `drive(policy)`: whether each LSTM
    call got a pair with a non-zero c."""
    namespace = {}
    exec(compile(source, "migrated.py", "exec"), namespace)
    policy = namespace[policy_class]()
    seen = []

    def watch(module, args):
        assert isinstance(args[1], tuple) and len(args[1]) == 2, type(args[1])
        seen.append(bool(args[1][1].abs().sum() > 0))

    for module in policy.modules():
        if isinstance(module, (nn.LSTM, nn.LSTMCell)):
            module.register_forward_pre_hook(watch)
    namespace[drive](policy)
    return seen


nn = torch.nn

# RLlib ModelV2 style: the base class's forward() calls `self.forward_rnn(...)`, which only the
# subclass defines; the state is a list `[h]` made by `get_initial_state()` and batched by a
# comprehension in the worker.
MODEL_V2 = '''
    class Recurrent(nn.Module):
        def forward(self, x, state):
            out, new_state = self.forward_rnn(x.unsqueeze(1), state)
            return out.squeeze(1), new_state

        def forward_rnn(self, inputs, state):
            raise NotImplementedError


    class Policy(Recurrent):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8, batch_first=True)
            self.pi = nn.Linear(8, 2)

        def get_initial_state(self):
            return [torch.zeros(8)]

        def forward_rnn(self, inputs, state):
            out, h = self.gru(inputs, torch.unsqueeze(state[0], 0))
            return self.pi(out), [torch.squeeze(h, 0)]


    class Worker:
        def __init__(self, policy):
            self.policy = policy

        def sample(self, steps):
            state = [s.repeat(3, 1) for s in self.policy.get_initial_state()]
            for _ in range(steps):
                logits, state = self.policy(torch.randn(3, 4), state)
            return logits


    def drive(policy):
        return Worker(policy).sample(4)


    drive(Policy())
'''


def test_a_method_a_subclass_overrides_is_followed_from_the_base_class_and_the_list_state_keeps_both_halves():
    migration = migrate(MODEL_V2, "tuple")
    assert blocking(migration) == []
    assert "return self.pi(out), [(torch.squeeze(h[0], 0), torch.squeeze(h[1], 0))]" in migration.source
    assert "return [(torch.zeros(8), torch.zeros(8))]" in migration.source
    assert "state = [(s[0].repeat(3, 1), s[1].repeat(3, 1)) for s in self.policy.get_initial_state()]" in migration.source
    assert any(run_watched(migration.source, "Policy", "drive"))


def test_the_list_state_of_an_overridden_method_is_doubled_in_packed_form():
    migration = migrate(MODEL_V2, "packed")
    assert blocking(migration) == []
    assert "return [torch.zeros(2 * 8)]" in migration.source
    assert any(run_watched(migration.source, "Policy", "drive"))


# The reset of the RLlib-style worker: `torch.where` over the fresh states and the returned ones,
# both states: written once per half with each operand's half (tests/test_per_half.py has more).
WHERE_OF_TWO_STATES = MODEL_V2.replace(
    "logits, state = self.policy(torch.randn(3, 4), state)",
    "logits, state_out = self.policy(torch.randn(3, 4), state)\n"
    "                done = torch.rand(3, 1) < 0.3\n"
    "                fresh = [s.repeat(3, 1) for s in self.policy.get_initial_state()]\n"
    "                state = [torch.where(done, f, s) for f, s in zip(fresh, state_out)]",
)


def test_torch_where_of_a_fresh_state_and_a_returned_one_is_written_per_half():
    migration = migrate(WHERE_OF_TWO_STATES, "tuple")
    assert blocking(migration) == []
    assert "state = [(torch.where(done, f[0], s[0]), torch.where(done, f[1], s[1])) for f, s in zip(fresh, state_out)]" in migration.source
    assert any(run_watched(migration.source, "Policy", "drive"))
    packed = migrate(WHERE_OF_TWO_STATES, "packed")
    assert blocking(packed) == [] and "state = [torch.where(done, f, s) for f, s in zip(fresh, state_out)]" in packed.source
    assert any(run_watched(packed.source, "Policy", "drive"))


# A SampleBatch-like dict of columns, one of which lists the states, stacked column by column.
COLUMNS = MODEL_V2.replace(
    '''            for _ in range(steps):
                logits, state = self.policy(torch.randn(3, 4), state)
            return logits''',
    '''            columns = {"obs": [], "state_in": []}
            for _ in range(steps):
                x = torch.randn(3, 4)
                columns["obs"].append(x)
                columns["state_in"].append(state[0])
                logits, state = self.policy(x, state)
            return {k: torch.stack(v, 1) for k, v in columns.items()}''',
)


def test_a_dict_of_columns_one_listing_the_states_is_refused_where_it_is_stacked_in_tuple_form():
    migration = migrate(COLUMNS, "tuple")
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L101", 41)]
    assert "`columns` holds hidden states (key `'state_in'`) beside other values" in blocking(migration)[0][2]
    assert not migration.changed


def test_a_dict_of_columns_one_listing_the_states_is_stacked_whole_in_packed_form():
    migration = migrate(COLUMNS, "packed")
    assert blocking(migration) == []
    assert any(run_watched(migration.source, "Policy", "drive"))


# Dreamer style: a GRUCell's state kept in a dict beside the stochastic latent, and the steps
# stacked key by key with a name as the key.
RSSM = '''
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(6, 8)
            self.post = nn.Linear(8 + 3, 4)

        def initial(self, batch):
            return {"stoch": torch.zeros(batch, 4), "deter": torch.zeros(batch, 8)}

        def feat(self, state):
            return torch.cat([state["stoch"], state["deter"]], -1)

        def step(self, state, action, embed):
            deter = self.cell(torch.cat([state["stoch"], action], -1), state["deter"])
            stoch = torch.tanh(self.post(torch.cat([deter, embed], -1)))
            return {"stoch": stoch, "deter": deter}

        def observe(self, actions, embeds):
            state = self.initial(actions.shape[1])
            posts = []
            for t in range(actions.shape[0]):
                state = self.step(state, actions[t], embeds[t])
                posts.append(state)
            return {k: torch.stack([p[k] for p in posts], 0) for k in posts[0]}


    def drive(model):
        post = model.observe(torch.randn(5, 2, 2), torch.randn(5, 2, 3))
        return model.feat(post).sum()


    drive(Model())
'''


def test_a_dict_of_the_state_and_the_latent_read_with_a_name_as_key_is_refused_in_tuple_form():
    migration = migrate(RSSM, "tuple")
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L101", 29)]
    assert "`p` holds hidden states (key `'deter'`) beside other values and is read with `k` as its key" in blocking(migration)[0][2]
    assert not migration.changed


def test_keys_read_from_a_literal_that_names_no_state_are_no_mixed_read():
    # `for k in ("stoch",)`: the name takes only keys that are not the state's
    only_latent = RSSM.replace("for k in posts[0]}", 'for k in ("stoch",)}').replace("return model.feat(post).sum()", 'return post["stoch"].sum()')
    assert blocking(migrate(only_latent, "tuple")) == []
    # one that names the state is refused as a name over every key is
    both = RSSM.replace("for k in posts[0]}", 'for k in ("stoch", "deter")}')
    assert [code for code, _, _ in blocking(migrate(both, "tuple"))] == ["G2L101"]


def test_a_dict_of_the_state_and_the_latent_is_stacked_whole_in_packed_form():
    migration = migrate(RSSM, "packed")
    assert blocking(migration) == []
    assert '"deter": torch.zeros(batch, 2 * 8)' in migration.source
    assert any(run_watched(migration.source, "Model", "drive"))


# CleanRL style: the state allocated for each step with the shape of the current state.
STEP_STATES = '''
    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def get_states(self, x, gru_state, done):
            out, gru_state = self.gru(x.unsqueeze(0), (1.0 - done).view(1, -1, 1) * gru_state)
            return out[0], gru_state


    def drive(agent):
        next_gru_state = torch.zeros(1, 3, 8)
        gru_states = torch.zeros((5,) + next_gru_state.shape)
        for step in range(5):
            gru_states[step] = next_gru_state
            out, next_gru_state = agent.get_states(torch.randn(3, 4), next_gru_state, torch.zeros(3))
        return agent.get_states(torch.randn(3, 4), gru_states[0], torch.zeros(3))


    drive(Agent())
'''


def test_an_allocation_shaped_like_the_packed_state_is_not_doubled_again():
    migration = migrate(STEP_STATES, "packed")
    assert blocking(migration) == []
    assert "gru_states = torch.zeros((5,) + next_gru_state.shape)" in migration.source
    assert "next_gru_state = torch.zeros(1, 3, 2 * 8)" in migration.source
    assert any(run_watched(migration.source, "Agent", "drive"))


def test_an_allocation_shaped_like_another_tensor_is_refused_in_packed_form():
    source = STEP_STATES.replace("next_gru_state = torch.zeros(1, 3, 8)", "shape_of = torch.zeros(1, 3, 8)\n        next_gru_state = torch.zeros(1, 3, 8)").replace(
        "torch.zeros((5,) + next_gru_state.shape)", "torch.zeros((5,) + shape_of.shape)"
    )
    migration = migrate(source, "packed")
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L100", 19)]
    assert "takes its whole shape from a tensor that is not the hidden state" in blocking(migration)[0][2]
