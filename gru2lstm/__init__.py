"""gru2lstm: migrate PyTorch recurrent RL code from nn.GRU to nn.LSTM, R2D2-style."""

__version__ = "0.1.0"
