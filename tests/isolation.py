"""Run Python in a fresh process in which this project's packages cannot be imported, as on a machine that only has
a model folder from the Hub."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("modeling_tacfn", "processing", "training", "hub_configs", "inference")

_BLOCKER = """
import sys
class _ProjectBlocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is blocked in this process")
        return None
sys.meta_path.insert(0, _ProjectBlocker())
sys.path[:] = [p for p in sys.path if p not in ("", {repo!r})]
for _name in {blocked!r}:
    try:
        __import__(_name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{{_name}} is importable; the isolation failed")
"""


def run_isolated(code: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs `code` with `sys.executable` in `cwd`, offline, with the project packages blocked from import. Raises
    AssertionError with the process's output when it fails."""
    prelude = _BLOCKER.format(blocked=PROJECT_PACKAGES, repo=str(REPO_ROOT))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"isolated process failed:\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result
