"""Scrapy project package for the reviews spider."""
