"""ReviewPulse: live sentiment for customer reviews (command line and settings)."""

__version__ = "0.1.0"
