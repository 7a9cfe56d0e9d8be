"""A short, bounded fuzz run of the media path in the suite: hypothesis draws 1-4 mutations (`harness.Mutation`) of a
real seed file of each kind and the processor must give finite model inputs or the documented `ValueError`.

The run is derandomized (the same examples every time, so the suite does not flake), each example has a deadline
(a slow example fails it) and the whole test the robustness tests' one (a hang ends the process with tracebacks);
`python -m tests.fuzzing.run` is the long, random run. The whole module takes under 20 s on one core.
"""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing.harness import INTERESTING_INTEGERS, KINDS, OPERATIONS, Mutation, Target, mutate, write_seeds


EXAMPLES_PER_KIND = 20
# an example takes about 0.05 s here; one that runs past this is stuck in a reader
EXAMPLE_DEADLINE = timedelta(seconds=5)

mutations = st.lists(
    st.builds(
        Mutation,
        operation=st.sampled_from(OPERATIONS),
        position=st.floats(0.0, 1.0, exclude_max=True),
        value=st.one_of(st.sampled_from(INTERESTING_INTEGERS), st.integers(0, 2**32 - 1)),
        length=st.integers(1, 2048),
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return write_seeds(tmp_path_factory.mktemp("fuzz_seeds"))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzzed")


@pytest.mark.parametrize("kind", KINDS)
def test_mutated_files_give_model_inputs_or_a_value_error(kind, seeds, scratch):
    target = Target(kind, seeds)
    original = seeds[kind].read_bytes()
    outcomes = []

    @settings(
        max_examples=EXAMPLES_PER_KIND,
        deadline=EXAMPLE_DEADLINE,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(mutations)
    def run(changes):
        path = scratch / f"fuzzed.{kind}"
        path.write_bytes(mutate(original, changes))
        outcomes.append(target(path))

    run()
    assert len(outcomes) >= EXAMPLES_PER_KIND
    # the mutations reach the readers' checks: some inputs are refused
    assert "ValueError" in outcomes, outcomes
