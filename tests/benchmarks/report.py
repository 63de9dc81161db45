"""Benchmark output: a table on stdout and JSON under tests/benchmarks/results/."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def report(name: str, columns: list[str], rows: list[list[Any]], notes: str = "") -> None:
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print(f"\n{name}")
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_fmt(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    if notes:
        print(notes)
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "columns": columns,
        "rows": rows,
        "notes": notes,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
