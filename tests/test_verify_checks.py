"""Every `scoresde-ref verify` check, run by pytest: one measurement, two runners (DESIGN.md "How we verify", 7).

The test ids are the check labels (`tests/test_verify_checks.py::test_check[kernels/VP_kernel_vs_quadrature]`);
the derivations index cites them in that form or as `verify: group/name`. A check that does not apply here
raises `Skipped` and is reported by pytest as skipped, never as passed; a check that raises fails with its
traceback; a check whose value misses its tolerance fails with the value, the tolerance and its note.
"""

import pytest

from scoresde_ref import verify

verify.load_checks()
CHECKS = verify.registered_checks()


@pytest.mark.parametrize("check", CHECKS, ids=[check.label for check in CHECKS])
def test_check(check):
    outcome = verify.run_check(check)
    if isinstance(outcome, verify.Skipped):
        pytest.skip(str(outcome))
    if isinstance(outcome, Exception):
        raise outcome
    assert outcome.passed, (
        f"{check.label}: {outcome.value:.3e} not {outcome.comparison} {outcome.tolerance:.3e} ({outcome.note})"
    )


def test_registry_is_not_empty_and_labels_are_unique():
    """Planted bug caught: a check module that registers nothing (or an import that silently fails), which
    would make the parametrised test above vacuous."""
    labels = [check.label for check in CHECKS]
    assert len(labels) > 80
    assert len(set(labels)) == len(labels)
