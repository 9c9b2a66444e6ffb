"""__main__."""
from __future__ import annotations

from livingpaper.cli import run

if __name__ == "__main__":  # not when multiprocessing re-imports it in a spawned process
    run()
