"""`deploy-tui web`: the App served to a browser, one app process per tab (textual-serve)."""
