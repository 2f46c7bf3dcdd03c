"""Batches on the training device, with the augmentation done there.

The images stay uint8 until they are on the device. On a GPU a split that
fits (``resident_bytes``) is copied once from pinned memory with a
non-blocking copy and batches are gathered on the GPU; a larger split is
gathered on the host into pinned staging buffers (two, alternating, each
reused only after its copy has finished) and copied without blocking. On the
CPU batches are gathered in place.

Random crops (zero padding, as torchvision's ``RandomCrop(padding=p)``) and
horizontal flips are one gather per batch. Every random number comes from the
``torch.Generator`` of the epoch, on the CPU, so a run draws the same
batches and the same augmentation on any device and after a restart.
"""
from __future__ import annotations

from ._torch import torch
from .data import Dataset, Split

F = torch.nn.functional


class DeviceBatches:
    """Batches of one split: ``epoch(generator)`` yields (images, labels) on ``device``."""

    def __init__(self, split: Split, dataset: Dataset, device, batch_size: int, train: bool,
                 channels_last: bool = False, resident_bytes: int = 2 << 30, augment: bool = True):
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.train = train
        self.channels_last = channels_last
        self.pad = dataset.crop_padding if train and augment else 0
        self.flip = dataset.flip and train and augment
        x = torch.from_numpy(split.x)
        y = torch.from_numpy(split.y)
        self.n = int(y.shape[0])
        cuda = self.device.type == "cuda"
        if cuda:
            x, y = x.pin_memory(), y.pin_memory()
        self.resident = cuda and x.numel() <= resident_bytes
        if self.resident:
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
        self.x, self.y = x, y
        self._staging = None
        c = x.shape[1]
        self.mean = torch.tensor(dataset.mean, dtype=torch.float32, device=self.device).view(1, c, 1, 1)
        self.std = torch.tensor(dataset.std, dtype=torch.float32, device=self.device).view(1, c, 1, 1)

    def steps(self) -> int:
        """Batches per epoch (training drops a last partial batch, as the benchmarks' pipelines do)."""
        if self.train and self.n >= self.batch_size:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def _gather(self, idx):
        if self.resident:
            i = idx.to(self.device, non_blocking=True)
            return self.x.index_select(0, i), self.y.index_select(0, i)
        if self.device.type != "cuda":
            return self.x.index_select(0, idx), self.y.index_select(0, idx)
        if self._staging is None:
            shape = (self.batch_size,) + tuple(self.x.shape[1:])
            self._staging = [(torch.empty(shape, dtype=torch.uint8).pin_memory(),
                              torch.empty(self.batch_size, dtype=torch.int64).pin_memory(),
                              torch.cuda.Event()) for _ in range(2)]
            self._turn = 0
        bx, by, done = self._staging[self._turn]
        self._turn ^= 1
        done.synchronize()  # the copy that last read this buffer has finished
        m = idx.numel()
        torch.index_select(self.x, 0, idx, out=bx[:m])
        torch.index_select(self.y, 0, idx, out=by[:m])
        xb = bx[:m].to(self.device, non_blocking=True)
        yb = by[:m].to(self.device, non_blocking=True)
        done.record()
        return xb, yb

    def _augment(self, xb, generator):
        """Random crop + flip of uint8 (B, C, H, W) in one gather; returns (B, H, W, C)."""
        b, _, h, w = xb.shape
        p = self.pad
        if p:
            xb = F.pad(xb, (p, p, p, p))
            oy = torch.randint(0, 2 * p + 1, (b,), generator=generator)
            ox = torch.randint(0, 2 * p + 1, (b,), generator=generator)
        else:
            oy = ox = torch.zeros(b, dtype=torch.int64)
        flip = (torch.rand(b, generator=generator) < 0.5) if self.flip else torch.zeros(b, dtype=torch.bool)
        ar_h, ar_w = torch.arange(h), torch.arange(w)
        rows = oy[:, None] + ar_h
        cols = ox[:, None] + torch.where(flip[:, None], w - 1 - ar_w, ar_w)
        dev = xb.device
        bidx = torch.arange(b, device=dev)[:, None, None]
        return xb.permute(0, 2, 3, 1)[bidx, rows.to(dev)[:, :, None], cols.to(dev)[:, None, :]]

    def epoch(self, generator=None):
        """Yields (float images normalised, int64 labels) on the device.

        Training: shuffled by ``generator`` and augmented; evaluation: in order."""
        if self.train:
            order = torch.randperm(self.n, generator=generator)
        else:
            order = torch.arange(self.n)
        bs = self.batch_size
        for s in range(self.steps()):
            idx = order[s * bs:(s + 1) * bs]
            xb, yb = self._gather(idx)
            if self.train and (self.pad or self.flip):
                xb = self._augment(xb, generator).permute(0, 3, 1, 2)  # NCHW view, NHWC memory
            xf = xb.float().div_(255.0).sub_(self.mean).div_(self.std)
            if self.channels_last:
                xf = xf.contiguous(memory_format=torch.channels_last)
            else:
                xf = xf.contiguous()
            yield xf, yb
