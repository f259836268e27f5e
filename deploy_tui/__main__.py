import sys

from deploy_tui.cli import main

sys.exit(main())
