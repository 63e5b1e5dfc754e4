"""The Faust worker: agents over reviews.raw, reviews.drafts and brands.discovered (``app``).

``batches`` handles one micro-batch per path, ``processing`` parses and scores free of
Kafka, ``sink`` stores when some rows may be poison, ``overlap`` keeps batches in
flight, ``drafts`` is the drafts worker (typing's own process), ``faust_patches`` the
Faust internals it reaches into; ``backlog`` watches the worker group's progress from the
outside (run by the web server, for the scoring-stall alert).
"""
