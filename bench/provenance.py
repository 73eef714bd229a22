#!/usr/bin/env python3
"""Where a benchmark ran: the machine and the commit, for the header of every table.

Every `make bench*` target prints both. A tree without `.git` (a source tarball, the output of
`git archive`) has no commit to name: it says "unknown commit" and the benchmark runs on.

    python3 bench/provenance.py          # prints "machine: …" and "commit: …" (make bench does)

From another benchmark script in bench/:

    import provenance
    print(provenance.header())           # the same two lines
    provenance.commit(paths=["crates"])  # "1553f32", "1553f32 with uncommitted changes", or "unknown commit"
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNKNOWN = "unknown commit"


def machine() -> str:
    """`2 cores (AMD EPYC 7B13), Linux 6.18.44`: the core count, the CPU model, the kernel."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    except OSError:  # no git on PATH
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def commit(root: Path = ROOT, paths: Sequence[str] = ()) -> str:
    """The checkout's short commit, "with uncommitted changes" when `paths` (default: the whole
    tree) differ from it, or "unknown commit" when `root` is not the top of a git checkout.

    A tree without `.git` unpacked inside another repository must not report that repository's
    commit, so the checkout's top level has to be `root` itself.
    """
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root.resolve():
        return UNKNOWN
    sha = _git(root, "rev-parse", "--short", "HEAD")
    if not sha:
        return UNKNOWN
    changed = _git(root, "status", "--porcelain", "--", *paths)
    return f"{sha} with uncommitted changes" if changed else sha


def header(root: Path = ROOT) -> str:
    """Both lines, as every benchmark prints them before its table."""
    return f"machine: {machine()}\ncommit: {commit(root)}"


if __name__ == "__main__":
    print(header())
