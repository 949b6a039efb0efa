"""Registry and runner of the numerical checks behind `scoresde-ref verify`.

Write checks in a module `scoresde_ref/verify/checks_<topic>.py`; `load_checks()` finds it::

    from scoresde_ref.verify import CheckResult, register

    @register("vp_kernel_vs_quadrature", group="kernels")
    def _():
        err = ...  # max relative error, float64
        return CheckResult(err, 1e-12, note="closed form vs 64-node Gauss-Legendre")

A check that does not apply calls `skip("why")`: it is reported as skipped, never as passed. pytest runs
every registered check too (`tests/test_verify_checks.py`, ids = the labels `group/name`).
"""

from ._registry import Check as Check
from ._registry import CheckResult as CheckResult
from ._registry import Figure as Figure
from ._registry import Skipped as Skipped
from ._registry import count as count
from ._registry import load_checks as load_checks
from ._registry import register as register
from ._registry import register_figure as register_figure
from ._registry import registered_checks as registered_checks
from ._registry import registered_figures as registered_figures
from ._registry import run_check as run_check
from ._registry import run_checks as run_checks
from ._registry import run_figures as run_figures
from ._registry import save_figure as save_figure
from ._registry import select_checks as select_checks
from ._registry import select_figures as select_figures
from ._registry import skip as skip
from ._registry import verdict as verdict
from ._report import format_table as format_table
from ._report import format_value as format_value
from ._report import skipped_lines as skipped_lines
from ._report import summary_line as summary_line
from ._report import write_report as write_report
