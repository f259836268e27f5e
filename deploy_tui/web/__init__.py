"""`deploy-tui web`: the walkthrough served to a browser, one app process per tab (textual-serve)."""
