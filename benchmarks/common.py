"""What the benchmarks that read ``../shared/data`` share: the data root, their argument parser's start, the
one-line skip when the data is absent, and torch's thread policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def data_parser(doc: str | None, difficulty: str | None = None) -> argparse.ArgumentParser:
    """A parser with the benchmark's docstring as its help and the optional ``root`` (default ../shared/data),
    and ``--difficulty`` (default ``difficulty``) when that is given; also sets the thread policy (one thread, or
    $DDC_SM_THREADS: ddc_sm/threads.py)."""
    from ddc_sm import threads as thread_policy

    thread_policy.configure()
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="folder of packs (default ../shared/data)")
    if difficulty is not None:
        ap.add_argument("--difficulty", default=difficulty)
    return ap


def data_missing(root: Path) -> bool:
    """True (after printing a one-line skip message) when ``root`` is not there."""
    if Path(root).is_dir():
        return False
    print(f"skipped: no data at {root} (see ../shared/data/README)")
    return True
