"""An oracle is tested by its mutants (DESIGN "How we verify" 8): the harness flags every planted bug of
`scoresde_ref.check._mutants` and passes every unmutated twin on the same inputs."""

import numpy as np
import pytest

from scoresde_ref import check
from scoresde_ref.check._mutants import MUTANTS, UNMUTATED

# Few inputs for the slow eager twins (a score_sde sampler run, get_sigmas_vp's vmapped kernel): each of these
# mutants changes every output, so the first input already fails.
EXAMPLES = {"paper.get_pc_sampler": 2, "paper.LangevinCorrector": 3, "k_diffusion.get_sigmas_vp": 3}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_harness_flags_the_mutant(name):
    """The mutant fails at least one method (derandomized draws: the same inputs each run), by a margin: its
    scaled error exceeds the limit by 10x or is infinite (a NaN or an exception)."""
    target, twin, _thread = MUTANTS[name]
    report = check.compare(target, twin, examples=EXAMPLES.get(twin, 25), dtype=np.float64)
    failed = [m for m in report.methods if not m.passed]
    assert failed, report.table()
    assert any(m.max_scaled_error > 10 * m.tolerance.limit for m in failed), report.table()


@pytest.mark.parametrize("twin", sorted(UNMUTATED))
def test_unmutated_twin_passes(twin):
    """The twin the mutant was made from passes on the same draws (so a flag is the planted bug, not the harness)."""
    report = check.compare(UNMUTATED[twin], twin, examples=EXAMPLES.get(twin, 25), dtype=np.float64)
    assert report.passed, report.table()
