"""ReviewPulse's composition root: builds the parts of the rooms, wires them and starts them.

Nothing imports it (``tests/unit/test_architecture.py``); the small base every room
imports is the ``kernel`` package. Here: ``cli`` and ``commands/`` (the ``reviewpulse``
command), ``runtime`` (``run`` and ``worker``), ``webserve`` (the web app with what
it is handed, uvicorn inside the worker), ``uvicorn_server``, ``system_client`` (ask the running system, or open the database?),
``broker`` (the embedded tansu broker), ``heap`` (start-up's objects frozen out of the
collector's passes) and ``bench/`` (every benchmark).
"""

__version__ = "0.1.0"
