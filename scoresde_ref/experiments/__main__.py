"""`python -m scoresde_ref.experiments NAME ...`: the same as `scoresde-ref experiment NAME ...`."""

import sys

from ._cli import experiment_main

if __name__ == "__main__":  # importing the module (e.g. to list its names) runs nothing
    sys.exit(experiment_main())
