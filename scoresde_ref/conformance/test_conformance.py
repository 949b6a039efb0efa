"""One test per method of the twin `SCORESDE_TWIN`, run on the target `SCORESDE_TARGET` (package docstring)."""

import pytest

from scoresde_ref.check import compare, get_twin, load_target
from scoresde_ref.conformance import settings_from_env

SETTINGS = settings_from_env()
_REASON = "set SCORESDE_TARGET=module:factory and SCORESDE_TWIN=NAME to check an implementation"
_METHODS = [m.name for m in get_twin(SETTINGS["twin"]).methods] if SETTINGS["target"] and SETTINGS["twin"] else []


@pytest.mark.skipif(not _METHODS, reason=_REASON)
@pytest.mark.parametrize("method", _METHODS or ["(none)"])
def test_method_conforms(method, request):
    """The target's `method` agrees with the twin within the harness's tolerance on every drawn input."""
    reason = SETTINGS["xfails"].get(method)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    target = load_target(SETTINGS["target"])
    report = compare(target, SETTINGS["twin"], examples=SETTINGS["examples"], methods=[method], dtype=SETTINGS["dtype"])
    m = report[method]
    assert m.passed, (
        f"{report.twin}.{method}: scaled error {m.max_scaled_error:.3g} u > limit {m.tolerance.limit:.3g} u "
        f"({m.message or m.tolerance.reason}); worst input {m.worst_input}"
    )
