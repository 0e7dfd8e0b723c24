"""The publication's article feeds: RSS, Atom and JSON Feed served by a local stand-in for the
publication's site; articles created once, updated on change, never duplicated; conditional
requests; failures recorded and retried, changing nothing stored."""

import datetime
import json
import time
from email.utils import format_datetime
from html import escape

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from letters import tasks
from letters.models import Article, ArticleFeed, FeedStatus
from letters.syndication import sync

from .factories import editor, free_port, make_article
from .test_settings import start_with

pytestmark = pytest.mark.django_db

WHEN = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC)


def story(n, **overrides):
    fields = {
        "url": f"https://www.reaction.life/p/story-{n}",
        "guid": f"reaction-{n}",
        "title": f"Story number {n}",
        "summary": f"What story {n} is about.",
        "content": f"<p>The first paragraph of story {n}.</p><p>The second &amp; last.</p>",
        "date": WHEN + datetime.timedelta(hours=n),
    }
    fields.update(overrides)
    return fields


def rss(stories, build_date="Fri, 20 Nov 2026 09:00:00 GMT"):
    items = "".join(
        f"<item><title>{escape(s['title'])}</title><link>{s['url']}</link>"
        f'<guid isPermaLink="false">{s["guid"]}</guid>'
        f"<description>{escape(s['summary'])}</description>"
        f"<content:encoded><![CDATA[{s['content']}]]></content:encoded>"
        f"<pubDate>{format_datetime(s['date'])}</pubDate></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Reaction</title><link>https://www.reaction.life/</link>"
        f"<description>News</description><lastBuildDate>{build_date}</lastBuildDate>"
        f"{items}</channel></rss>"
    )


def atom(stories):
    entries = "".join(
        f'<entry><title>{escape(s["title"])}</title><link href="{s["url"]}"/>'
        f"<id>{s['guid']}</id><updated>{s['date'].isoformat()}</updated>"
        f"<summary>{escape(s['summary'])}</summary>"
        f'<content type="html">{escape(s["content"])}</content></entry>'
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Reaction</title><id>urn:reaction</id><updated>2026-11-20T09:00:00Z</updated>"
        f"{entries}</feed>"
    )


def json_feed(stories):
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Reaction",
            "items": [
                {
                    "id": s["guid"],
                    "url": s["url"],
                    "title": s["title"],
                    "summary": s["summary"],
                    "content_html": s["content"],
                    "date_published": s["date"].isoformat(),
                }
                for s in stories
            ],
        }
    )


@pytest.mark.parametrize(
    "render, content_type",
    [
        (rss, "application/rss+xml"),
        (atom, "application/atom+xml"),
        (json_feed, "application/feed+json"),
    ],
    ids=["rss", "atom", "json-feed"],
)
def test_each_kind_of_feed_brings_its_articles_in_once(publisher, render, content_type):
    url = publisher.put("/feed", render([story(1), story(2)]), content_type=content_type)

    first = sync.sync_feed(url)
    second = sync.sync_feed(url)

    assert (first.status, first.created, first.items) == (FeedStatus.OK, 2, 2)
    assert (second.created, second.updated) == (0, 0)
    article = Article.objects.get(feed_guid="reaction-1")
    assert article.headline == "Story number 1"
    assert article.canonical_url == "https://www.reaction.life/p/story-1"
    assert article.standfirst == "What story 1 is about."
    assert article.body == "The first paragraph of story 1.\n\nThe second & last."
    assert article.published_at == WHEN + datetime.timedelta(hours=1)
    assert article.slug == "story-number-1"
    assert article.accepts_letters()
    assert Article.objects.count() == 2


def test_a_changed_headline_or_text_updates_the_article_and_adds_none(publisher):
    url = publisher.put("/feed", rss([story(1), story(2)]))
    sync.sync_feed(url)
    before = Article.objects.get(feed_guid="reaction-1")

    publisher.put(
        "/feed", rss([story(1, title="Story one, corrected", content="<p>New.</p>"), story(2)])
    )
    result = sync.sync_feed(url)

    assert (result.created, result.updated) == (0, 1)
    after = Article.objects.get(feed_guid="reaction-1")
    assert (after.pk, after.slug) == (before.pk, before.slug)
    assert (after.headline, after.body) == ("Story one, corrected", "New.")
    assert Article.objects.count() == 2
    feed = ArticleFeed.objects.get(url=url)
    assert (feed.created_count, feed.updated_count) == (2, 1)


def test_an_article_that_moves_to_a_new_address_keeps_its_row_by_its_guid(publisher):
    url = publisher.put("/feed", rss([story(1)]))
    sync.sync_feed(url)
    publisher.put("/feed", rss([story(1, url="https://www.reaction.life/p/story-1-renamed")]))

    sync.sync_feed(url)

    article = Article.objects.get()
    assert article.canonical_url == "https://www.reaction.life/p/story-1-renamed"


def test_an_article_already_on_the_desk_under_its_address_is_not_created_again(publisher):
    existing = make_article(canonical_url="https://www.reaction.life/p/story-1", headline="Old")
    url = publisher.put("/feed", rss([story(1)]))

    result = sync.sync_feed(url)

    assert (result.created, result.updated) == (0, 1)
    existing.refresh_from_db()
    assert (existing.feed_guid, existing.headline) == ("reaction-1", "Story number 1")
    assert Article.objects.count() == 1


def test_the_same_article_twice_in_one_feed_is_created_once(publisher):
    url = publisher.put("/feed", rss([story(1), story(1, guid="other-guid")]))

    assert sync.sync_feed(url).created == 1
    assert Article.objects.count() == 1


def test_a_second_article_with_the_same_headline_gets_its_own_slug(publisher):
    url = publisher.put("/feed", rss([story(1, title="Same"), story(2, title="Same")]))

    sync.sync_feed(url)

    assert sorted(Article.objects.values_list("slug", flat=True)) == ["same", "same-2"]


def test_the_servers_etag_comes_back_and_a_304_is_honoured(publisher):
    url = publisher.put("/feed", rss([story(1)]), etag='"v1"')
    sync.sync_feed(url)

    result = sync.sync_feed(url)

    assert result.status == FeedStatus.NOT_MODIFIED
    assert publisher.requests[-1][1].get("If-None-Match") == '"v1"'
    feed = ArticleFeed.objects.get(url=url)
    assert (feed.status, feed.item_count) == (FeedStatus.NOT_MODIFIED, 1)


def test_last_modified_comes_back_as_if_modified_since(publisher):
    stamp = "Fri, 20 Nov 2026 09:00:00 GMT"
    url = publisher.put("/feed", rss([story(1)]), last_modified=stamp)
    sync.sync_feed(url)
    sync.sync_feed(url)

    assert publisher.requests[-1][1].get("If-Modified-Since") == stamp


@pytest.mark.parametrize(
    "resource, reason",
    [
        ({"body": "oops", "status": 500}, "HTTP 500"),
        ({"body": "<rss><channel><item><title>Cut off"}, "malformed feed"),
        (
            {"body": "<html><body>Not a feed</body></html>", "content_type": "text/html"},
            "not an RSS",
        ),
        ({"body": '{"items": [', "content_type": "application/json"}, "malformed JSON feed"),
        ({"body": "x" * 5000}, "larger than 4096 bytes"),
        ({"body": "slow", "delay": 2.5}, "timed out"),
    ],
    ids=["500", "malformed-xml", "html", "broken-json", "too-large", "timeout"],
)
def test_a_failing_feed_is_recorded_with_its_reason_and_changes_nothing_stored(
    publisher, settings, caplog, resource, reason
):
    settings.LETTERS_FEED_TIMEOUT_SECONDS = 1
    settings.LETTERS_FEED_MAX_BYTES = 4096
    url = publisher.put("/feed", rss([story(1)]))
    sync.sync_feed(url)
    before = list(Article.objects.values())
    publisher.put("/feed", **resource)

    result = sync.sync_feed(url)

    assert result.status == FeedStatus.FAILED
    assert reason in result.error
    assert list(Article.objects.values()) == before
    feed = ArticleFeed.objects.get(url=url)
    assert feed.status == FeedStatus.FAILED and reason in feed.error
    assert reason in caplog.text


def test_a_feed_that_failed_is_tried_again_next_time_and_recovers(publisher):
    url = publisher.put("/feed", "down", status=503)
    assert sync.sync_feed(url).status == FeedStatus.FAILED

    publisher.put("/feed", rss([story(1)]))
    result = sync.sync_feed(url)

    assert (result.status, result.created) == (FeedStatus.OK, 1)
    assert ArticleFeed.objects.get(url=url).error == ""


def test_an_unreachable_feed_fails_with_a_reason(settings):

    result = sync.sync_feed(f"http://127.0.0.1:{free_port()}/feed")

    assert result.status == FeedStatus.FAILED
    assert "could not connect" in result.error


def test_one_failing_feed_does_not_stop_the_others(publisher, settings):
    settings.LETTERS_ARTICLE_FEEDS = [
        publisher.put("/broken", "no", status=500),
        publisher.put("/feed", rss([story(1)])),
    ]

    tasks.sync_article_feeds()

    assert Article.objects.filter(feed_guid="reaction-1").exists()
    assert (
        ArticleFeed.objects.get(url=settings.LETTERS_ARTICLE_FEEDS[0]).status == FeedStatus.FAILED
    )


def test_the_command_syncs_the_url_given_and_says_what_it_did(publisher, capsys):
    url = publisher.put("/feed", rss([story(1), story(2)]))

    call_command("sync_articles", url)

    assert f"{url}: 2 items, 2 new, 0 updated" in capsys.readouterr().out


def test_the_command_fails_when_a_feed_failed(publisher):
    url = publisher.put("/feed", "no", status=500)

    with pytest.raises(CommandError, match="1 feed"):
        call_command("sync_articles", url)


def test_the_command_without_a_url_syncs_the_configured_feeds(publisher, settings, capsys):
    settings.LETTERS_ARTICLE_FEEDS = [publisher.put("/feed", rss([story(1)]))]

    call_command("sync_articles")

    assert "1 new" in capsys.readouterr().out


def test_the_admin_shows_each_feeds_last_fetch_status_and_count(publisher, client):
    url = publisher.put("/feed", rss([story(1), story(2)]))
    sync.sync_feed(url)
    client.force_login(editor())

    page = client.get("/admin/letters/articlefeed/")

    assert page.status_code == 200
    assert url in page.text and "fetched" in page.text
    assert ArticleFeed.objects.get(url=url).last_fetched_at is not None


def _writes(queries):
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_syncing_500_unchanged_articles_takes_under_a_second_and_writes_no_article(publisher):
    stories = [story(n) for n in range(500)]
    url = publisher.put("/feed", rss(stories))
    sync.sync_feed(url)
    # The feed's bytes change (a new build date), its articles do not: it is read in full.
    publisher.put("/feed", rss(stories, build_date="Fri, 20 Nov 2026 10:00:00 GMT"))

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = sync.sync_feed(url)
        took = time.perf_counter() - started

    assert (result.items, result.created, result.updated) == (500, 0, 0)
    assert took < 1.0, f"{took:.3f} s"
    # The only write: the feed's own row (its last fetch and the new body's digest).
    writes = _writes(queries)
    assert len(writes) == 1 and "letters_articlefeed" in writes[0], writes


def test_polling_an_unchanged_feed_reads_no_article_and_writes_only_its_last_fetch(publisher):
    url = publisher.put("/feed", rss([story(n) for n in range(500)]))
    sync.sync_feed(url)

    with CaptureQueriesContext(connection) as queries:
        assert sync.sync_feed(url).status == FeedStatus.NOT_MODIFIED

    assert not any("letters_article" in q["sql"] and "articlefeed" not in q["sql"] for q in queries)
    writes = _writes(queries)
    assert len(writes) == 1 and "letters_articlefeed" in writes[0]


def test_beat_polls_the_feeds_only_when_there_are_feeds():

    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CELERY_BEAT_SCHEDULE.get('sync-article-feeds'))"
    )
    configured = start_with(
        {
            "LETTERS_ARTICLE_FEEDS": "https://www.reaction.life/feed",
            "LETTERS_ARTICLE_FEEDS_INTERVAL_SECONDS": "120",
        },
        "-c",
        probe,
    )
    unconfigured = start_with({}, "-c", probe)

    assert configured.returncode == 0, configured.stderr
    assert "'task': 'letters.tasks.sync_article_feeds', 'schedule': 120" in configured.stdout
    assert unconfigured.stdout.strip() == "None"


def test_a_feed_that_is_not_an_http_address_stops_start_up_naming_the_variable():

    result = start_with({"LETTERS_ARTICLE_FEEDS": "file:///etc/passwd"})

    assert result.returncode != 0
    assert "LETTERS_ARTICLE_FEEDS" in result.stderr


@pytest.mark.usefixtures("latest_migrations_afterwards")
def test_the_migration_keeps_one_article_per_canonical_url():

    before, after = [("letters", "0007_send_claims")], [("letters", "0008_publication_feeds")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("letters", "Article")
    url = "https://www.reaction.life/p/same"
    first = old.objects.create(headline="First", slug="first", body="", canonical_url=url)
    second = old.objects.create(headline="Second", slug="second", body="", canonical_url=url)
    other = old.objects.create(headline="Other", slug="other", body="", canonical_url="")

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("letters"))

    urls = dict(Article.objects.values_list("pk", "canonical_url"))
    assert urls == {first.pk: url, second.pk: "", other.pk: ""}
