"""Every ``reviewpulse`` subcommand, one module per group (like Scrapy's ``scrapy/commands/``).

Each module defines its commands at module level and adds them in ``register(app)``;
``reviewpulse.cli`` imports them all. ``common`` is what they share: the error exit,
common options, which running system a command talks to.
"""
