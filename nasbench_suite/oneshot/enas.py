"""ENAS (Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018).

An LSTM controller emits one op per edge (6 decisions); the shared weights
train on the path it samples for each training batch (controller fixed);
after the epoch's weight steps the controller trains by REINFORCE on the
validation split: ``controller_train_steps`` updates, each aggregating
``controller_num_aggregate`` sampled cells, reward = the cell's accuracy
(fraction) with the shared weights on one validation batch plus
``entropy_weight`` x the policy's entropy, minus a moving-average baseline
(decay ``baseline_decay``), gradient norm clipped at 5. The derived cell: the
best of ``select_num`` = 100 cells sampled from the controller, each on one
validation batch.

The controller (the NB201 authors' ``search_model_enas_utils.Controller``):
a 2-layer LSTM of 32 units fed a learnt start token, then the embedding of
each chosen op; logits = ``tanh_constant`` x tanh(linear(h) / ``temperature``)
with 2.5 and 5; weights uniform in [-0.1, 0.1]; Adam lr 0.001, betas (0, 0.999),
eps 0.001. NB201 settings (``exps/algos/ENAS.py``, ``configs/nas-benchmark/
algos/ENAS.config``): 250 epochs, batch 64, SGD lr 0.025 cosine to 0.001 for
the shared weights; controller 50 steps x 20 cells per epoch, entropy weight
1e-4, baseline decay 0.99. Here ``controller_train_steps=None`` scales the 50
steps to the supernet's steps per epoch (50 x steps / 391, 391 being the
paper's 25,000 CIFAR training images in batches of 64), rounded up.

Sampled cells are evaluated with batch statistics in BN. Published NB201
result (REFERENCE.md): CIFAR-10 valid 37.51 +- 3.19, test 53.89 +- 0.58.
"""
from __future__ import annotations

import math

from ..train._torch import nn, torch
from ..train._run import _seed_from
from ._method import METHOD_SALT, EpochContext, OneShotMethod, best_of_paths, path_accuracy, path_cell
from .nb201_supernet import NUM_EDGES, OPS

__all__ = ["Controller", "Enas"]

_PAPER_STEPS_PER_EPOCH = 391  # ceil(25,000 / 64)


class Controller(nn.Module):
    """The ENAS LSTM controller over the 6 edges x 5 ops (module docstring)."""

    def __init__(self, num_edges: int = NUM_EDGES, num_ops: int = len(OPS), lstm_size: int = 32,
                 lstm_num_layers: int = 2, tanh_constant: float = 2.5, temperature: float = 5.0):
        super().__init__()
        self.num_edges, self.tanh_constant, self.temperature = num_edges, tanh_constant, temperature
        self.input_vars = nn.Parameter(torch.empty(1, 1, lstm_size))
        self.w_lstm = nn.LSTM(input_size=lstm_size, hidden_size=lstm_size, num_layers=lstm_num_layers)
        self.w_embd = nn.Embedding(num_ops, lstm_size)
        self.w_pred = nn.Linear(lstm_size, num_ops)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, generator):
        """``(sum of log-probabilities, sum of entropies, path)`` of one sampled cell."""
        inputs, h = self.input_vars, None
        log_probs, entropies, path = [], [], []
        for _ in range(self.num_edges):
            out, h = self.w_lstm(inputs, h)
            logits = self.tanh_constant * torch.tanh(self.w_pred(out).view(-1) / self.temperature)
            logp = logits.log_softmax(dim=-1)
            k = int(torch.multinomial(logp.detach().exp().cpu().float(), 1, generator=generator))
            path.append(k)
            log_probs.append(logp[k])
            entropies.append(-(logp.exp() * logp).sum())
            inputs = self.w_embd(torch.tensor([[k]], device=logits.device))
        return torch.stack(log_probs).sum(), torch.stack(entropies).sum(), tuple(path)


class Enas(OneShotMethod):
    """ENAS (module docstring)."""

    name = "enas"
    paper_epochs = 250
    digits_epochs = 50

    def __init__(self, controller_train_steps: int | None = None, controller_num_aggregate: int = 20,
                 entropy_weight: float = 1e-4, baseline_decay: float = 0.99, controller_lr: float = 1e-3,
                 select_num: int = 100):
        if controller_train_steps is not None and int(controller_train_steps) < 1:
            raise ValueError(f"controller_train_steps must be >= 1 or None, got {controller_train_steps!r}")
        if int(controller_num_aggregate) < 1 or int(select_num) < 1:
            raise ValueError("controller_num_aggregate and select_num must be >= 1")
        self.controller_train_steps = None if controller_train_steps is None else int(controller_train_steps)
        self.controller_num_aggregate = int(controller_num_aggregate)
        self.entropy_weight, self.baseline_decay = float(entropy_weight), float(baseline_decay)
        self.controller_lr, self.select_num = float(controller_lr), int(select_num)

    def hyperparameters(self) -> dict:
        """The controller's training settings."""
        return {"controller_train_steps": self.controller_train_steps,
                "controller_num_aggregate": self.controller_num_aggregate, "entropy_weight": self.entropy_weight,
                "baseline_decay": self.baseline_decay, "controller_lr": self.controller_lr,
                "select_num": self.select_num}

    def setup(self, net, recipe, device, seed: int = 0) -> None:
        """The controller (its weights drawn from a seed derived from ``seed``) and its Adam."""
        super().setup(net, recipe, device, seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(seed, METHOD_SALT))
            self.controller = Controller().to(device)
        self.c_optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.controller_lr, betas=(0.0, 0.999),
                                            eps=1e-3)
        self.baseline = None

    def step(self, ctx: EpochContext, xt, yt, xv, yv) -> None:
        """The shared weights of one controller-sampled path on the training batch."""
        with torch.no_grad():
            path = self.controller(ctx.generator)[2]
        ctx.weight_step(ctx.loss_fn(ctx.net(xt, "path", path).float(), yt))

    def end_epoch(self, ctx: EpochContext) -> None:
        """REINFORCE on the validation split (module docstring)."""
        steps = self.controller_train_steps
        if steps is None:
            steps = math.ceil(50 * max(ctx.steps, 1) / _PAPER_STEPS_PER_EPOCH)
        ctrl, opt = self.controller, self.c_optimizer
        opt.zero_grad(set_to_none=True)
        for i in range(steps * self.controller_num_aggregate):
            log_prob, entropy, path = ctrl(ctx.generator)
            xb, yb = ctx.valid_batch()
            reward = path_accuracy(ctx.net, path, xb, yb) / 100.0 + self.entropy_weight * float(entropy.detach())
            if self.baseline is None:
                self.baseline = reward
            else:
                self.baseline = self.baseline - (1 - self.baseline_decay) * (self.baseline - reward)
            (-log_prob * (reward - self.baseline)).backward()
            if (i + 1) % self.controller_num_aggregate == 0:
                nn.utils.clip_grad_norm_(ctrl.parameters(), 5.0)
                opt.step()
                opt.zero_grad(set_to_none=True)

    def derive(self, ctx: EpochContext):
        """The best of ``select_num`` controller samples on validation batches."""
        with torch.no_grad():
            paths = [self.controller(ctx.generator)[2] for _ in range(self.select_num)]
        return path_cell(best_of_paths(ctx, paths))

    def state_dict(self) -> dict:
        """Adam of alpha (unused), the controller, its Adam and the baseline."""
        return {**super().state_dict(), "controller": self.controller.state_dict(),
                "c_optimizer": self.c_optimizer.state_dict(),
                "baseline": float("nan") if self.baseline is None else float(self.baseline)}

    def load_state_dict(self, state: dict) -> None:
        """Restores what :meth:`state_dict` saved."""
        super().load_state_dict(state)
        self.controller.load_state_dict(state["controller"])
        self.c_optimizer.load_state_dict(state["c_optimizer"])
        b = float(state["baseline"])
        self.baseline = None if math.isnan(b) else b
