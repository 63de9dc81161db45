"""Render the evaluation corpus (MIDI -> audio with exact ground truth) into var/corpus/.

.venv/bin/python scripts/make_corpus.py [--synth sf2|numpy]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.benchmarks.corpus.generate import build, describe, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synth", choices=["sf2", "numpy"], default=None, help="default: sf2 if tinysoundfont imports")
    args = parser.parse_args()
    folder = build(args.synth)
    print(f"corpus in {folder}: {describe(load(args.synth))}")


if __name__ == "__main__":
    main()
