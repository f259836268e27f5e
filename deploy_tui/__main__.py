from deploy_tui.cli.main import entry

entry()
