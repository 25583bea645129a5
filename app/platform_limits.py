"""What one process is using now (for the gunicorn worker's memory budget)."""

from __future__ import annotations

from pathlib import Path


def resident_mb() -> int:
    """This process's resident memory in MB (Linux /proc; 0 where it cannot be read)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        return 0
    return 0
