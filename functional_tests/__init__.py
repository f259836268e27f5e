"""The book's functional tests of superlists, in headless Chromium.

They run against Django's live test server, or against a real one when
STAGING_SERVER=host[:port] is set. STAGING_RESOLVE=name:ip[,name:ip] pins names to
addresses inside the browser, so a staging domain can be tested before its DNS exists.
"""
