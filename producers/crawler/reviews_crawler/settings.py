"""Scrapy settings of the reviews crawler: polite by default, every value overridable.

``reviewpulse crawl`` overrides some of these from the ReviewPulse settings (Kafka address,
topic, profile, JOBDIR, feeds; ``--no-polite`` swaps in :data:`IMPOLITE`). The Kafka
settings below are Scrapy settings, not environment reads: when they are empty the
pipeline falls back to ``kernel.settings.get_settings()``.

Bounds: the spider stays on the hosts it was started for (its ``allowed_domains``, checked
by Scrapy's OffsiteMiddleware on every request and redirect), only http(s) download
handlers exist, and depth, page count and response size have caps whose defaults are the
ReviewPulse settings ``CRAWL_MAX_DEPTH``, ``CRAWL_MAX_PAGES`` and ``CRAWL_MAX_PAGE_BYTES``.
"""

from kernel.settings import Settings as _ReviewPulseSettings

_DEFAULTS = _ReviewPulseSettings.model_fields

BOT_NAME = "reviews_crawler"
SPIDER_MODULES = ["producers.crawler.reviews_crawler.spiders"]
NEWSPIDER_MODULE = "producers.crawler.reviews_crawler.spiders"
USER_AGENT = "ReviewPulseBot/0.1 (+https://github.com/reviewpulse; polite crawler)"

# politeness
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 2

# bounds (see the module docstring)
DEPTH_LIMIT = _DEFAULTS["crawl_max_depth"].default
CLOSESPIDER_PAGECOUNT = _DEFAULTS["crawl_max_pages"].default
DOWNLOAD_MAXSIZE = _DEFAULTS["crawl_max_page_bytes"].default
DOWNLOAD_WARNSIZE = DOWNLOAD_MAXSIZE // 4
DOWNLOAD_TIMEOUT = 30
#: http and https only: no file://, ftp://, s3:// or data: a page could point the crawler at.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}

#: Applied by ``reviewpulse crawl --no-polite`` and the benchmark (local demo site only).
IMPOLITE = {
    "ROBOTSTXT_OBEY": False,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
}

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "producers.crawler.reviews_crawler.middlewares.RobotsTxtMiddleware": 100,  # see middlewares.py
}

ITEM_PIPELINES = {
    "producers.crawler.reviews_crawler.pipelines.KafkaPipeline": 300,
}

# Kafka (empty = resolve from the ReviewPulse settings / a running `reviewpulse run`)
KAFKA_ENABLED = True
KAFKA_BOOTSTRAP = ""
KAFKA_TOPIC_RAW = ""
KAFKA_TOPIC_BRANDS = ""
KAFKA_LINGER_MS = 20

SITE_PROFILE = "local"

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
