import sys

from deploy_tui.cli.main import main

sys.exit(main())
