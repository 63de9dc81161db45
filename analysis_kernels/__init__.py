"""Numba analysis kernels: arrays in, arrays out; no I/O, no asyncio, no Kafka.

Streaming kernels advance many streams at once (one row per stream). One module per concept: ``design``
(parameters from the sample rate), ``state`` (per-stream state and the output layout), ``loudness``, ``spectral``,
``rhythm`` (onsets, tempo, beats), ``key`` (chroma, key), ``analyzer`` (``LiveAnalyzer``, the stages in order),
``track`` (whole-track analysis) and ``reference`` (the pure-numpy version, for tests).

numba's on-disk cache (``cache=True``) notices edits to a kernel's own file only, and it freezes module globals
(the ``state`` column indices, the ``design`` constants) into the machine code: after editing a module that other
kernels import, delete the numba cache files (``__pycache__/*.nbi``, ``*.nbc``) so its callers recompile.
"""

from analysis_kernels.analyzer import LiveAnalyzer
from analysis_kernels.design import Design, make_design
from analysis_kernels.reference import ReferenceAnalyzer
from analysis_kernels.state import FLOAT_FIELDS, INT_FIELDS, HopOutputs
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
    "make_design",
]
