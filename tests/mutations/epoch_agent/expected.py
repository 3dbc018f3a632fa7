"""A recurrent PPO agent wired like the seeds' experiments, for the harness's own tests.

Its experiment acts every step (take_action, add_memory_ppo) and calls train_step() once at the
end of each epoch; train_step() trains on whatever the rollout holds. Driven with a train call
after every step, each update sees a one-sample rollout: `advantages.std()` of one element is
NaN, the loss is NaN, and after the update so are the weights.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch.distributions import Categorical


class EpochAgent(nn.Module):
    def __init__(self, obs_size: int = 4, action_space: int = 3, hidden_size: int = 16, lr: float = 0.01,
                 gamma: float = 0.9, clip: float = 0.2) -> None:
        super().__init__()
        self.action_space = action_space
        self.hidden_size = hidden_size
        self.gamma = gamma
        self.clip = clip
        self.encoder = nn.Linear(obs_size, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size)
        self.actor = nn.Linear(hidden_size, action_space)
        self.critic = nn.Linear(hidden_size, 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.hidden: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
        self.pending: Optional[tuple] = None
        self.rollout: List[tuple] = []

    def _core(self, obs: torch.Tensor, hidden: Tuple[torch.Tensor, torch.Tensor]):
        x = torch.tanh(self.encoder(obs)).unsqueeze(0)
        y, hidden = self.lstm(x, hidden)
        return y[0], hidden

    def take_action(self, state) -> int:
        if self.hidden is None:
            self.hidden = (
                torch.zeros(1, 1, self.hidden_size),
                torch.zeros(1, 1, self.hidden_size),
            )
        obs = torch.as_tensor(state, dtype=torch.float32).reshape(1, -1)
        with torch.no_grad():
            features, new_hidden = self._core(obs, self.hidden)
            dist = Categorical(logits=self.actor(features))
            action = dist.sample()
        self.pending = (obs, (self.hidden[0].detach(), self.hidden[1].detach()), int(action), float(dist.log_prob(action)))
        self.hidden = new_hidden
        return int(action)

    def get_action(self, observation, hidden_state: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        """Greedy action for evaluation, with an explicit hidden state (zeros when None)."""
        if hidden_state is None:
            hidden_state = (
                torch.zeros(1, 1, self.hidden_size),
                torch.zeros(1, 1, self.hidden_size),
            )
        obs = torch.as_tensor(observation, dtype=torch.float32).reshape(1, -1)
        with torch.no_grad():
            features, new_hidden = self._core(obs, hidden_state)
        return int(self.actor(features).argmax()), new_hidden

    def add_memory_ppo(self, reward: float, done: bool) -> None:
        if self.pending is None:
            return
        self.rollout.append(self.pending + (float(reward), float(done)))
        self.pending = None
        if done:
            self.hidden = None

    def train_step(self) -> Optional[float]:
        if not self.rollout:
            return None
        obs, hiddens, actions, old_log_probs, rewards, dones = zip(*self.rollout)
        self.rollout = []
        returns, running = [], 0.0
        for reward, done in zip(reversed(rewards), reversed(dones)):
            running = reward + self.gamma * running * (1.0 - done)
            returns.append(running)
        returns = torch.tensor(returns[::-1])
        hs, cs = zip(*hiddens)
        h_states = torch.cat(hs, dim=1)
        c_states = torch.cat(cs, dim=1)
        features, _ = self._core(torch.cat(obs), (h_states, c_states))
        dist = Categorical(logits=self.actor(features))
        values = self.critic(features).squeeze(-1)
        advantages = returns - values.detach()
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        ratio = torch.exp(dist.log_prob(torch.tensor(actions)) - torch.tensor(old_log_probs))
        clipped = torch.clamp(ratio, 1 - self.clip, 1 + self.clip)
        loss = -torch.min(ratio * advantages, clipped * advantages).mean()
        loss = loss + 0.5 * (returns - values).pow(2).mean() - 0.01 * dist.entropy().mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def start_epoch_action(self, **kwargs) -> None:
        self.hidden = None
        self.pending = None
