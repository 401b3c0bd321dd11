"""A small PyTorch character RNN, trained and saved the usual way, for `satrnn import` (README: Your own model).

Needs torch and safetensors (not satrnn dependencies). Usage:
    python docs/examples/train_char_rnn.py CORPUS.txt OUT_DIR [--hidden 64] [--epochs 30]
Writes OUT_DIR/charrnn.safetensors (model.state_dict(): embedding, one-layer tanh nn.RNN, linear decoder)
and OUT_DIR/vocab.json (the byte of each index).
"""
import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn


class CharRNN(nn.Module):
    def __init__(self, V: int, H: int, E: int = 16):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = nn.RNN(E, H, nonlinearity="tanh", batch_first=True)
        self.decoder = nn.Linear(H, V)

    def forward(self, x, h=None):
        y, h = self.rnn(self.embedding(x), h)
        return self.decoder(y), h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    a = ap.parse_args()
    torch.manual_seed(0)
    data = Path(a.corpus).read_bytes()
    vocab = sorted(set(data))
    index = {b: i for i, b in enumerate(vocab)}
    x = torch.tensor([index[b] for b in data], dtype=torch.long)
    model = CharRNN(len(vocab), a.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    T = 64
    for epoch in range(a.epochs):
        h, total = None, 0.0
        for s in range(0, len(x) - 1, T):
            inp, tgt = x[s:s + T][None], x[s + 1:s + T + 1][None]
            n = min(inp.shape[1], tgt.shape[1])
            logits, h = model(inp[:, :n], h)
            loss = nn.functional.cross_entropy(logits[0], tgt[0, :n])
            opt.zero_grad()
            loss.backward()
            opt.step()
            h = h.detach()
            total += loss.item() * n
        print(f"epoch {epoch + 1}: {total / (len(x) - 1) / 0.6931471805599453:.3f} bits/char")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), str(out / "charrnn.safetensors"))
    (out / "vocab.json").write_text(json.dumps(vocab))


if __name__ == "__main__":
    main()
