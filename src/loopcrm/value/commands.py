"""What the `loopcrm value recompute` command runs (the integrator wires it into loopcrm.cli)."""

from __future__ import annotations

import time
from collections.abc import Callable

from loopcrm.value.services import recompute_all


def recompute_command(*, say: Callable[[str], object] = print, associations: bool = True) -> int:
    """Recompute every customer's value with progress lines; returns the process exit code (0)."""
    last = {"step": "", "at": 0.0}

    def progress(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if step != last["step"] or now - last["at"] > 2 or done == total:
            say(f"    {step}: {done:,} of {total:,}" if total > 1 else f"    {step}…")
            last.update(step=step, at=now)

    result = recompute_all(progress=progress, associations=associations)
    tiers = ", ".join(f"{name} {count:,}" for name, count in sorted(result.tiers.items()))
    stages = ", ".join(f"{name} {count:,}" for name, count in sorted(result.stages.items()))
    say(f"Recomputed {result.customers:,} customers ({result.buyers:,} buyers) in {result.seconds:.1f} s.")
    say(f"    Tiers: {tiers or '—'}. Stages: {stages or '—'}.")
    return 0
