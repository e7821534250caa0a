"""Width-bucketing batch sampler: batches of one frame width, shardable across DDP ranks."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

logger = logging.getLogger(__name__)


class WidthBucketBatchSampler(Sampler[list[int]]):
    """Batches that each hold frames of one width; shardable across DDP ranks.

    Every index is in exactly one batch per epoch (unless ``drop_last``). With
    ``num_replicas > 1`` each rank gets a disjoint set of batches, all ranks the same
    number: batches are split in two (largest first) until the count divides evenly,
    so nothing is dropped or repeated; only if that is impossible (fewer samples than
    ranks, or batch size 1) are a few batches repeated, with a warning. With
    ``drop_last`` incomplete batches and the surplus batches are dropped instead.

    Args:
        widths: width of each dataset item.
        batch_size: items per batch (the most; see above).
        shuffle: shuffle items within widths and the order of batches, per epoch.
        seed: base seed; the permutation depends on ``(seed, epoch)`` only.
        drop_last: drop incomplete batches (and surplus batches when sharding).
        num_replicas: number of DDP ranks.
        rank: this rank.
    """

    def __init__(self, widths: Sequence[int] | np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False, num_replicas: int = 1, rank: int = 0) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(num_replicas) < 1 or not 0 <= int(rank) < int(num_replicas):
            raise ValueError(f"need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas}, {rank}")
        self.widths = np.asarray(widths, dtype=np.int64).reshape(-1)
        if self.widths.size == 0:
            raise ValueError("WidthBucketBatchSampler needs at least one item")
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.drop_last, self.num_replicas, self.rank = bool(drop_last), int(num_replicas), int(rank)
        self.epoch = 0
        self._buckets = {int(w): np.flatnonzero(self.widths == w) for w in np.unique(self.widths)}
        self._sizes, self._n_total, self._n_pad = self._plan()

    def _plan(self) -> tuple[dict[int, list[int]], int, int]:
        bs, r = self.batch_size, self.num_replicas
        sizes = {}
        for w, idx in self._buckets.items():
            full, rem = divmod(idx.size, bs)
            sizes[w] = [bs] * full + ([rem] if rem and not self.drop_last else [])
        total = sum(len(s) for s in sizes.values())
        if self.drop_last:
            keep = total - total % r
            if keep == 0:
                raise ValueError(f"{self.widths.size} items in full batches of {bs} give fewer than "
                                 f"{r} batches; lower batch_size or use drop_last=False")
            return sizes, keep, 0
        while total % r:
            w, k = max(((w, k) for w, s in sizes.items() for k in range(len(s))),
                       key=lambda wk: sizes[wk[0]][wk[1]])
            s = sizes[w][k]
            if s < 2:
                break
            sizes[w][k:k + 1] = [s - s // 2, s // 2]
            total += 1
        pad = (-total) % r
        if pad:
            logger.warning("%d items cannot be split into %d equal shards of batches; "
                           "repeating %d batch(es) per epoch", self.widths.size, r, pad)
        return sizes, total + pad, pad

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch used for shuffling (call before each epoch on every rank)."""
        self.epoch = int(epoch)

    def _all_batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches = []
        for w, idx in self._buckets.items():
            order = rng.permutation(idx) if self.shuffle else idx
            start = 0
            for s in self._sizes[w]:
                batches.append(order[start:start + s])
                start += s
        if self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        else:
            batches.sort(key=lambda b: int(b[0]))
        if self.drop_last:
            return batches[: self._n_total]
        return batches + batches[: self._n_pad]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._all_batches()[self.rank::self.num_replicas]:
            yield batch.tolist()

    def __len__(self) -> int:
        return self._n_total // self.num_replicas
