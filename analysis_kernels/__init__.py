"""Numba analysis kernels: arrays in, arrays out; no I/O, no asyncio, no Kafka.

Streaming kernels advance many streams at once (one row per stream).
"""

from analysis_kernels.levels import hop_levels, hop_levels_reference

__all__ = ["hop_levels", "hop_levels_reference"]
