"""ReviewPulse: live sentiment for customer reviews. This package is the kernel and the composition root.

**Kernel** — small modules every room may import, which import nothing from any room:
``settings`` (the one Settings object), ``logs``, ``events`` (+ ``fields``: the event
schema), ``topics`` (topic names, partitions, creation), ``runfile`` (which running
system a command talks to), ``compat`` (library workarounds, version-checked),
``clikit`` (what command modules share).

**Root** — builds the parts of the rooms and hands them in; no room imports it:
``runtime`` (``reviewpulse run`` / ``worker``), ``webserve`` (the web app with its
helpers from other rooms, uvicorn inside the worker), ``broker`` (the embedded tansu
broker), ``heap`` (start-up's objects frozen out of the collector's passes), ``commands``
(``run``, ``worker``, ``web``), ``cli`` (the ``reviewpulse`` command).

Rule: rooms may import the kernel, never the root. Arrows between rooms point one way:
``web``, ``producers``, ``dashboards`` -> ``stream`` -> ``inference``.
"""

__version__ = "0.1.0"
