"""Cutting a sample stream into fixed-size hops (sans-IO, so it is tested synchronously)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Hop", "HopFramer"]


@dataclass(frozen=True)
class Hop:
    seq: int
    t_ms: float  # stream time of the hop's first sample
    samples: npt.NDArray[np.float32]


class HopFramer:
    """Accumulates mono float32 samples and yields exact ``hop``-sized blocks in order."""

    def __init__(self, sample_rate: int, hop: int) -> None:
        if hop <= 0 or sample_rate <= 0:
            raise ValueError("hop and sample_rate must be positive")
        self.sample_rate = sample_rate
        self.hop = hop
        self._pending = np.zeros(0, dtype=np.float32)
        self._seq = 0

    def push(self, samples: npt.NDArray[np.float32]) -> list[Hop]:
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).ravel()])
        count = data.size // self.hop
        hops = []
        for i in range(count):
            block = data[i * self.hop : (i + 1) * self.hop].copy()
            hops.append(Hop(self._seq, self._seq * self.hop * 1000.0 / self.sample_rate, block))
            self._seq += 1
        self._pending = data[count * self.hop :].copy()
        return hops
