"""The long fuzz run of the media path: random mutations of the real seeds, for as long as asked.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python -m tests.fuzzing.run --minutes 60 --output fuzz-findings [--kinds mp4 csv]

Each execution writes one mutated file (1-4 mutations of a seed, `harness.Mutation`) and runs its kind's target. A
finding (an exception other than `ValueError`, or wrong model inputs) is kept as `OUTPUT/findings/<kind>-<n>.<kind>`
with its traceback beside it, and the run goes on. A hang ends the run after `--deadline` seconds with every thread's
traceback on stderr; the input that hung is `OUTPUT/current.<kind>`. At the end (and every minute) it prints the
executions, executions per second and findings per kind as JSON.
"""

import argparse
import faulthandler
import json
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

from tests.fuzzing.harness import KINDS, Target, mutate, random_mutations, write_seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to run (default: 60)")
    parser.add_argument("--output", type=Path, required=True, help="folder for the seeds, the current input, findings")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="which targets (default: all)")
    parser.add_argument("--deadline", type=float, default=20.0, help="seconds after which one input counts as a hang")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutations")
    args = parser.parse_args(argv)
    findings_dir = args.output / "findings"
    findings_dir.mkdir(parents=True, exist_ok=True)
    seeds = write_seeds(args.output / "seeds")
    originals = {kind: seeds[kind].read_bytes() for kind in args.kinds}
    targets = {kind: Target(kind, seeds) for kind in args.kinds}
    rng = np.random.default_rng(args.seed)
    executions, outcomes, findings = Counter(), Counter(), Counter()
    start = last_report = time.monotonic()
    while time.monotonic() - start < args.minutes * 60:
        kind = args.kinds[executions.total() % len(args.kinds)]
        current = args.output / f"current.{kind}"
        current.write_bytes(mutate(originals[kind], random_mutations(rng, int(rng.integers(1, 5)))))
        faulthandler.dump_traceback_later(args.deadline, exit=True)
        try:
            outcomes[f"{kind}:{targets[kind](current)}"] += 1
        except Exception:  # noqa: BLE001 - every other exception is a finding, kept and counted
            findings[kind] += 1
            kept = findings_dir / f"{kind}-{findings[kind]}.{kind}"
            kept.write_bytes(current.read_bytes())
            kept.with_suffix(".txt").write_text(traceback.format_exc())
            print(f"finding: {kept}\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        finally:
            faulthandler.cancel_dump_traceback_later()
        executions[kind] += 1
        if time.monotonic() - last_report > 60:
            last_report = time.monotonic()
            print(json.dumps(_summary(executions, outcomes, findings, last_report - start)), flush=True)
    print(json.dumps(_summary(executions, outcomes, findings, time.monotonic() - start)), flush=True)
    return 1 if findings else 0


def _summary(executions: Counter, outcomes: Counter, findings: Counter, seconds: float) -> dict:
    """The run's figures so far."""
    return {
        "seconds": round(seconds, 1),
        "executions": dict(executions),
        "executions_per_second": round(executions.total() / max(seconds, 1e-9), 2),
        "outcomes": dict(outcomes),
        "findings": dict(findings),
    }


if __name__ == "__main__":
    sys.exit(main())
