"""An actor-critic policy as in preallocated-storage PPO code: `act(obs, hxs, masks)` returns
(value, action, log_prob, next hxs); `evaluate_actions(obs, hxs, masks, actions)` scores stored steps.
No agent interface: the harness drives it itself (shape (c) in docs/verify.md). The class of
fixtures/prealloc_storage.
"""
from typing import Tuple

import torch
import torch.nn as nn


class RecurrentPolicy(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden_size: int = 64) -> None:
        super().__init__()
        self.base = nn.Sequential(nn.Linear(obs_dim, hidden_size), nn.ReLU())
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.pi = nn.Linear(hidden_size, n_actions)
        self.vf = nn.Linear(hidden_size, 1)
        for m in self.modules():
            if isinstance(m, nn.GRU):
                for name, param in m.named_parameters():
                    if "bias" in name:
                        nn.init.constant_(param, 0)
                    elif "weight" in name:
                        nn.init.orthogonal_(param)

    def _forward_gru(self, x: torch.Tensor, hxs: torch.Tensor, masks: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if x.size(0) == hxs.size(0):
            # one step for every env: x (N, F), hxs (N, H), masks (N, 1)
            out, hxs = self.gru(x.unsqueeze(0), (hxs * masks).unsqueeze(0))
            return out.squeeze(0), hxs.squeeze(0)

        # a sequence: x is (T * N, F), flattened from (T, N, F); hxs is (N, H)
        n_envs = hxs.size(0)
        T = x.size(0) // n_envs
        x = x.view(T, n_envs, x.size(1))
        masks = masks.view(T, n_envs)
        # the steps after the first where some env restarted an episode
        restarts = ((masks[1:] == 0.0).any(dim=-1).nonzero().flatten() + 1).tolist()
        bounds = [0] + restarts + [T]

        hxs = hxs.unsqueeze(0)
        pieces = []
        for start, end in zip(bounds[:-1], bounds[1:]):
            out, hxs = self.gru(x[start:end], hxs * masks[start].view(1, -1, 1))
            pieces.append(out)
        x = torch.cat(pieces, dim=0).view(T * n_envs, -1)
        return x, hxs.squeeze(0)

    def act(self, obs: torch.Tensor, hxs: torch.Tensor, masks: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x, hxs = self._forward_gru(self.base(obs), hxs, masks)
        dist = torch.distributions.Categorical(logits=self.pi(x))
        action = dist.sample().unsqueeze(-1)
        return self.vf(x), action, dist.log_prob(action.squeeze(-1)).unsqueeze(-1), hxs

    def get_value(self, obs: torch.Tensor, hxs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        x, _ = self._forward_gru(self.base(obs), hxs, masks)
        return self.vf(x)

    def evaluate_actions(
        self, obs: torch.Tensor, hxs: torch.Tensor, masks: torch.Tensor, actions: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, _ = self._forward_gru(self.base(obs), hxs, masks)
        dist = torch.distributions.Categorical(logits=self.pi(x))
        return self.vf(x), dist.log_prob(actions.squeeze(-1)).unsqueeze(-1), dist.entropy().mean()
