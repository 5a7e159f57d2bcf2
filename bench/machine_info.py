"""The machine a benchmark ran on, in the one line every bench prints beside its figures.

Figures mean little without it: the CPUs and the load average say how much other work shared
the machine (which slows every figure), the memory what a peak-memory figure is measured against.
"""

from __future__ import annotations

import os
import platform


def machine(extra: str = "") -> str:
    """Platform, Python, CPUs, memory and load average (1, 5, 15 minutes); ``extra`` is
    appended (e.g. the SQLite library's version where a bench measures SQLite)."""
    try:
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        memory = "memory unknown"
    load = (
        ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    )
    parts = [
        platform.platform(),
        f"Python {platform.python_version()}",
        f"{os.cpu_count()} CPUs",
        memory,
        f"load average {load}",
    ]
    return " | ".join([*parts, extra] if extra else parts)
