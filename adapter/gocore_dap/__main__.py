import sys

from gocore_dap.cli import main

sys.exit(main())
