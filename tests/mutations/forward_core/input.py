"""A recurrent policy module with no agent interface: `forward(x, h) -> (logits, h')`.

The harness drives it itself (shape (a) in docs/verify.md): the state is threaded from call to
call, reset at episode ends, and each epoch's steps are replayed from their stored states.
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn


class RecurrentPolicy(nn.Module):
    def __init__(self, obs_size: int = 6, hidden_size: int = 16, n_actions: int = 3) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.encoder = nn.Linear(obs_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_actions)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        return torch.zeros(1, batch_size, self.hidden_size)

    def forward(self, x: torch.Tensor, h: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """x: (batch, time, obs_size); h: (1, batch, hidden_size), zeros when None."""
        if h is None:
            h = self.initial_state(x.shape[0])
        z = torch.relu(self.encoder(x))
        y, h = self.gru(z, h)
        return self.head(y), h
