"""A tiny recurrent actor-critic with a GRU core, for the harness's own tests (fast to run and to train).

It speaks the IQN-style interface: take_action(state), add_memory_ppo(reward, done), train_step(),
start_epoch_action(). Each step's hidden state is stored and the rollout is replayed from it.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch.distributions import Categorical


class TinyAgent(nn.Module):
    def __init__(self, obs_size: int = 4, action_space: int = 2, hidden_size: int = 16, rollout_length: int = 16,
                 lr: float = 0.01, gamma: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.action_space = action_space
        self.hidden_size = hidden_size
        self.rollout_length = rollout_length
        self.gamma = gamma
        self.encoder = nn.Linear(obs_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.actor = nn.Linear(hidden_size, action_space)
        self.critic = nn.Linear(hidden_size, 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.hidden: Optional[torch.Tensor] = None
        self.pending: Optional[Tuple[torch.Tensor, torch.Tensor, int]] = None
        self.memory: List[tuple] = []

    def _core(self, obs: torch.Tensor, hidden: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = torch.tanh(self.encoder(obs)).unsqueeze(0)
        y, hidden = self.gru(x, hidden)
        return y[0], hidden

    def take_action(self, state) -> int:
        if self.hidden is None:
            self.hidden = torch.zeros(1, 1, self.hidden_size)
        obs = torch.as_tensor(state, dtype=torch.float32).reshape(1, -1)
        with torch.no_grad():
            features, new_hidden = self._core(obs, self.hidden)
            action = Categorical(logits=self.actor(features)).sample()
        self.pending = (obs, self.hidden.detach(), int(action))
        self.hidden = new_hidden
        return int(action)

    def add_memory_ppo(self, reward: float, done: bool) -> None:
        if self.pending is None:
            return
        self.memory.append(self.pending + (float(reward), float(done)))
        self.pending = None
        if done:
            self.hidden = None

    def _returns(self, rewards: List[float], dones: List[float]) -> torch.Tensor:
        returns, running = [], 0.0
        for reward, done in zip(reversed(rewards), reversed(dones)):
            running = reward + self.gamma * running * (1.0 - done)
            returns.append(running)
        return torch.tensor(returns[::-1])

    def train_step(self) -> float:
        if len(self.memory) < self.rollout_length:
            return 0.0
        obs, hiddens, actions, rewards, dones = zip(*self.memory)
        h_states = torch.cat(hiddens, dim=1)
        returns = self._returns(list(rewards), list(dones))
        features, _ = self._core(torch.cat(obs), h_states)
        dist = Categorical(logits=self.actor(features))
        values = self.critic(features).squeeze(-1)
        advantages = returns - values.detach()
        loss = -(dist.log_prob(torch.tensor(actions)) * advantages).mean()
        loss = loss + 0.5 * (returns - values).pow(2).mean() - 0.01 * dist.entropy().mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.memory.clear()
        return loss.item()

    def start_epoch_action(self, **kwargs) -> None:
        self.hidden = None
        self.pending = None
