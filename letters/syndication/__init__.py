"""The publication's own site, read by the desk: its article feeds and its article pages.

fetch.py   one capped HTTP GET (timeout, size limit, conditional headers): hostile input
parse.py   feed bytes -> FeedItem list (RSS, Atom with feedparser; JSON Feed), page -> metadata
sync.py    the feeds' items -> Article rows (created once, updated on change, never twice)
pages.py   the embed's lookup: an article by its URL, created from the page's own metadata
"""
