import scrapy


class NewsSpider(scrapy.Spider):
    """Allowed: news.example has a reviewed site record and no notice."""

    name = "news"
    allowed_domains = ["news.example"]
    start_urls = ["https://news.example/articles/"]

    def parse(self, response):
        yield {"url": response.url}
