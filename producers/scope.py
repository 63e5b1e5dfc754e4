"""What a crawl may fetch: http(s) pages on the hosts it was started for, robots.txt allowing.

Both crawlers ask this module, so Selenium discovery and the Scrapy spider draw the same
line. The hosts come from the site profile's ``allowed_domains`` when it lists some (a real
site whose company pages live on a sibling host), else from the start URL(s): a crawl of
``http://demo-site:8001`` never leaves ``demo-site``, whatever links a page carries. A
domain also admits its sub-domains (``example.com`` admits ``www.example.com``), as in
Scrapy's ``allowed_domains``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from protego import Protego

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")
#: The token robots.txt rules are matched against (the Scrapy USER_AGENT starts with it).
ROBOTS_USER_AGENT = "ReviewPulseBot"
ROBOTS_TIMEOUT_S = 10.0


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` without port ("" when it has none)."""
    return (urlsplit(url).hostname or "").lower()


def allowed_hosts(start_urls: Iterable[str], profile_domains: Iterable[str] = ()) -> list[str]:
    """The profile's domains when it names any, else the hosts of the start URLs (sorted, unique)."""
    declared = {domain.strip().lower() for domain in profile_domains if domain.strip()}
    return sorted(declared or {host for host in map(host_of, start_urls) if host})


def refusal(url: str, hosts: Iterable[str]) -> str | None:
    """Why ``url`` is out of scope (``unsupported_scheme`` or ``offsite``), or None when it may be fetched."""
    if urlsplit(url).scheme.lower() not in ALLOWED_SCHEMES:
        return "unsupported_scheme"
    host = host_of(url)
    if not any(host == domain or host.endswith(f".{domain}") for domain in hosts):
        return "offsite"
    return None


class Scope:
    """The hosts a crawl was started for plus robots.txt: one question, :meth:`refusal`."""

    def __init__(self, hosts: Iterable[str], robots: RobotsRules | None = None) -> None:
        self.hosts = list(hosts)
        self.robots = robots or RobotsRules(obey=False)

    def refusal(self, url: str) -> str | None:
        """``unsupported_scheme``, ``offsite`` or ``robots_txt`` when ``url`` must not be fetched, else None."""
        reason = refusal(url, self.hosts)
        if reason is None and not self.robots.allowed(url):
            reason = "robots_txt"
        return reason


class RobotsRules:
    """robots.txt of every host visited, fetched once per host; unreachable or 404 = all allowed.

    Scrapy's ``ROBOTSTXT_OBEY`` covers the spider; this covers Selenium, which has no such
    switch. ``obey=False`` (``--no-polite``) allows everything without fetching.
    """

    def __init__(self, obey: bool = True, user_agent: str = ROBOTS_USER_AGENT) -> None:
        self.obey, self.user_agent = obey, user_agent
        self._parsers: dict[str, Protego | None] = {}

    def allowed(self, url: str) -> bool:
        if not self.obey:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._parsers:
            self._parsers[origin] = self._fetch(origin)
        parser = self._parsers[origin]
        return parser is None or parser.can_fetch(url, self.user_agent)

    def _fetch(self, origin: str) -> Protego | None:
        import httpx
        from protego import Protego

        url = urljoin(origin, "/robots.txt")
        try:
            response = httpx.get(url, timeout=ROBOTS_TIMEOUT_S, follow_redirects=True,
                                 headers={"User-Agent": self.user_agent})
        except httpx.HTTPError as error:
            log.warning("robots.txt of %s unreachable (%s): treating every page as allowed", origin, error)
            return None
        if response.status_code >= 400:
            return None
        return Protego.parse(response.text)
