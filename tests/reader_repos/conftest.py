"""The fixture repos' own tests (`tests.py`, as the book names them) are the readers', never ours to collect."""

collect_ignore_glob = ["edition2/*", "edition3/*"]
