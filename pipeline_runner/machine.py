"""Is this machine idle enough to use more than one core? (cheap: no heavy imports)"""

from __future__ import annotations

import os


def idle_cpus() -> int:
    """Every CPU when the machine is idle (1-minute load average at most CPUs - 0.75, our own run
    included), else 1. On shared, busy cores a second thread or process costs more than it gains."""
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available: assume busy
        return 1
    return cpus if load <= cpus - 0.75 else 1
