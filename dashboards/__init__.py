"""Grafana dashboards and provisioning as code, ``reviewpulse dashboards push``, Grafana Live.

Other rooms use only the Live pusher (the web server starts it when Grafana is configured)::

    from dashboards import LivePusher, live_enabled
"""

from dashboards.live import LivePusher, live_enabled

__all__ = ["LivePusher", "live_enabled"]
