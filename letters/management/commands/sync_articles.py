"""manage.py sync_articles [URL ...]: bring the publication's articles in from its feeds now.

Without URLs, every feed in LETTERS_ARTICLE_FEEDS; a URL given need not be configured (its
state is kept all the same). Exits non-zero when a feed failed, after trying them all.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from letters.models import FeedStatus
from letters.syndication import sync


class Command(BaseCommand):
    help = "Fetch the publication's article feeds and create or update their articles."

    def add_arguments(self, parser):
        parser.add_argument("urls", nargs="*", help="Feed URLs (default: LETTERS_ARTICLE_FEEDS).")

    def handle(self, *args, urls, **options):
        urls = urls or settings.LETTERS_ARTICLE_FEEDS
        if not urls:
            raise CommandError("No feed: set LETTERS_ARTICLE_FEEDS or name a feed URL.")
        results = [sync.sync_feed(url) for url in urls]
        for result in results:
            self.stdout.write(str(result))
        failed = [r.url for r in results if r.status == FeedStatus.FAILED]
        if failed:
            raise CommandError(f"{len(failed)} feed(s) failed: {', '.join(failed)}")
