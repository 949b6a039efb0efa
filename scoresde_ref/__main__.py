"""`python -m scoresde_ref ...` is the `scoresde-ref` command."""

import sys

from .cli import main

sys.exit(main())
