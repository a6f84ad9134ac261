import scrapy


class VideosSpider(scrapy.Spider):
    """Not allowed: its start() yields YouTube URLs, covered by a cease-and-desist
    notice. There are no start_urls to read: only running start() shows it."""

    name = "videos"

    async def start(self):
        for page in (1, 2):
            yield scrapy.Request(f"https://www.youtube.com/results?search_query=scrapy&page={page}")

    def parse(self, response):
        yield {"url": response.url}
