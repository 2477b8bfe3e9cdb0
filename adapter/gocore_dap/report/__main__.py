"""`python -m gocore_dap.report PROGRAM CORE ...`: the same as `gocore-dap report`."""

from __future__ import annotations

import sys

from gocore_dap.report import main

sys.exit(main())
