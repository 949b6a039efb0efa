"""`python -m scoresde_ref.experiments NAME ...`: the same as `scoresde-ref experiment NAME ...`."""

import sys

from ._cli import experiment_main

sys.exit(experiment_main())
