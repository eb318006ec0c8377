"""``python -m shared_client.cli``, the same as the ``happy-follower`` command."""

import contextlib
import sys

from . import main

with contextlib.suppress(KeyboardInterrupt):
    sys.exit(main())
