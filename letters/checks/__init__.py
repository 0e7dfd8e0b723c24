"""What editors used to spot by memory: campaigns and repeats, letters sent to other papers,
and quotes the article never said.

shingles.py     words, shingles, their Jaccard, shared passages (pure, plain Python)
signatures.py   MinHash signatures and LSH band keys (pure; numpy and datasketch, loaded only
                by the analysis and the rebuild: other processes start without them)
exclusivity.py  signs a letter went to other outlets too: its recipients, its own words (pure)
quotes.py       passages a letter attributes to the article, looked up in its text (pure)
index.py        the similarity index in the database: add a letter
clusters.py     the index's lock and window, clusters mended when a letter leaves the index
rebuild.py      the whole index rebuilt from the letters of the window
analysis.py     the processing step run by a task for each new letter
dashboard.py    the desk's figures, computed in the database
"""
