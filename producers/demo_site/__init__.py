"""A local review site to crawl: same structure as a real one, deterministic from a seed."""

from producers.demo_site.app import DemoSiteServer, create_demo_app
from producers.demo_site.catalogue import Catalogue, SiteSpec

__all__ = ["Catalogue", "DemoSiteServer", "SiteSpec", "create_demo_app"]
