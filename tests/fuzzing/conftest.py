"""The fuzz tests share the robustness tests' deadline: a test stuck in a reader (a hang no per-example deadline can
interrupt, inside a decoder) ends the process with every thread's traceback instead of stalling the suite."""

from tests.robustness.conftest import deadline  # noqa: F401 - an autouse fixture, registered by being imported here
