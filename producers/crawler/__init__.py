"""The Scrapy project (standard layout: scrapy.cfg, items, pipelines, settings, spiders)."""
