"""Producers: the crawlers that feed ReviewPulse (Selenium discovery, a Scrapy reviews spider
publishing to Kafka) and a local demo review site to crawl. Nothing here is imported by other
rooms; the CLI commands live in ``reviewpulse.commands.crawl``."""
