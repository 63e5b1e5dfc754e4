"""Downloader middlewares of the reviews crawler.

:class:`RobotsTxtMiddleware` fixes Scrapy 2.19's robots.txt check for requests that arrive
while robots.txt is still being fetched: they all await one shared Deferred, and the first
awaiter's ``asFuture`` callback passes ``None`` down the chain, so every later waiter saw
"no robots.txt" and was let through (found by ``test_polite_crawl_obeys_robots_txt``: a
disallowed URL among the start requests was fetched). By then the parser is stored in
``self._parsers``, so reading it from there gives every waiter the real answer.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        stored = self._parsers.get(urlparse_cached(request).netloc)
        return parser if parser is not None else (stored if isinstance(stored, RobotParser) else None)
