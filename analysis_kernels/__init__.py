"""Numba analysis kernels: arrays in, arrays out; no I/O, no asyncio, no Kafka.

Streaming kernels advance many streams at once (one row per stream).
"""

from analysis_kernels.design import Design, make_design
from analysis_kernels.levels import hop_levels, hop_levels_reference
from analysis_kernels.live import FLOAT_FIELDS, INT_FIELDS, HopOutputs, LiveAnalyzer
from analysis_kernels.reference import ReferenceAnalyzer
from analysis_kernels.track import TrackAnalysis, analyze_track

__all__ = [
    "FLOAT_FIELDS",
    "INT_FIELDS",
    "Design",
    "HopOutputs",
    "LiveAnalyzer",
    "ReferenceAnalyzer",
    "TrackAnalysis",
    "analyze_track",
    "hop_levels",
    "hop_levels_reference",
    "make_design",
]
