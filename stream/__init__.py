"""The stream room: the Faust worker and its ClickHouse storage (and what hangs off them).

What other rooms use (import the module, not this package):

* ``stream.storage`` — ``open_storage(settings) -> Storage``; ``stream.migrations.migrate``.
* ``stream.queries`` — ``ReviewFilter``, ``list_reviews``, ``stats``, ``random_brand``, ``count_brands``.
* ``stream.batches`` — ``REVIEW_TAKE_BATCHES``: how many × ``BATCH_SIZE`` reviews a worker's batch holds at most.
* ``stream.registry`` / ``stream.registry_client`` — the model registry; ``stream.label_queue``.

The event schema, topic names and the run file are the kernel's (``reviewpulse.events``,
``reviewpulse.topics``, ``reviewpulse.runfile``); the embedded broker and the process
wiring are the composition root's (``reviewpulse.broker``, ``reviewpulse.runtime``).
"""
