"""What editors used to spot by memory: campaigns and repeats, letters sent to other papers,
and quotes the article never said.

shingles.py     words, shingles, MinHash signatures, LSH band keys, shared passages (pure)
exclusivity.py  signs a letter went to other outlets too: its recipients, its own words (pure)
quotes.py       passages a letter attributes to the article, looked up in its text (pure)
index.py        the similarity index in the database: add a letter, forget one, clusters
rebuild.py      the whole index rebuilt from the letters of the window
analysis.py     the processing step run by a task for each new letter
dashboard.py    the desk's figures, computed in the database
"""
