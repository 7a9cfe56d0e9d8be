"""The coverage-guided fuzz run of one target with atheris (libFuzzer over the Python code of the readers):

    PYTHONPATH=. HF_HUB_OFFLINE=1 python -m tests.fuzzing.run_atheris csv WORKDIR -- -max_total_time=3600 -timeout=20

WORKDIR receives the seeds (`WORKDIR/seeds`), the corpus libFuzzer grows from the seed of the kind
(`WORKDIR/corpus-KIND`) and, on a finding, libFuzzer's `crash-*` / `timeout-*` file holding the input. The arguments
after `--` are libFuzzer's (`-max_total_time`, `-timeout` for a hang, `-runs`, ...); it prints its executions as it
goes. A finding stops the run with the traceback (an exception other than `ValueError`, or a hang past `-timeout`).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import atheris


with atheris.instrument_imports(include=["processing"]):
    from tests.fuzzing.harness import KINDS, Target, write_seeds


def main(argv: list[str]) -> None:
    kind, workdir, libfuzzer_arguments = argv[0], Path(argv[1]), argv[3:] if argv[2:3] == ["--"] else argv[2:]
    if kind not in KINDS:
        raise SystemExit(f"kind must be one of {KINDS}, got {kind!r}")
    seeds = write_seeds(workdir / "seeds")
    corpus = workdir / f"corpus-{kind}"
    corpus.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeds[kind], corpus / f"seed.{kind}")
    target = Target(kind, seeds)
    scratch = Path(tempfile.mkdtemp(prefix="tacfn-fuzz-")) / f"input.{kind}"

    def test_one_input(data: bytes) -> None:
        scratch.write_bytes(data)
        if data:  # an empty file is refused before any reader runs
            target(scratch)

    os.chdir(workdir)
    atheris.Setup([sys.argv[0], *libfuzzer_arguments, str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
