"""The item the reviews spider yields: one review with its company's details."""

import scrapy


class ReviewItem(scrapy.Item):
    review_key = scrapy.Field()  # the site's id for the review (or a hash of its content)
    comment = scrapy.Field()
    rating = scrapy.Field()  # 1-5, or None when the page shows no stars
    review_date = scrapy.Field()  # ISO 8601 string, or None
    reviewer = scrapy.Field()
    page_url = scrapy.Field()
    company_url = scrapy.Field()  # the company's first review page: part of the stable id
    company_name = scrapy.Field()
    company_website = scrapy.Field()
    company_logo = scrapy.Field()
    category = scrapy.Field()
    sub_category = scrapy.Field()
