"""``python -m flowkit.train …``: train an image flow (see :mod:`flowkit.train.cli`)."""

import sys

from .cli import main

sys.exit(main())
