"""The demo site fixtures (``tests/crawl_site.py``, shared by the three tiers)."""

from tests.crawl_site import catalogue, companies_csv, demo_site

__all__ = ["catalogue", "companies_csv", "demo_site"]
