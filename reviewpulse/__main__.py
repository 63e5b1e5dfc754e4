"""``python -m reviewpulse``: the ``reviewpulse`` command (how ``run`` starts its drafts process)."""

from reviewpulse.cli import main

main()
