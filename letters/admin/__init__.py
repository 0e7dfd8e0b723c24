"""The letters desk in Django admin, one room per screen, registered here by name.

queue.py        the moderation queue's filters, counting and page
actions.py      the queue's actions and the pages that ask for a reason, a time, an article
letter_page.py  the letter page: edit form, diff, flags, history, shortcuts
letter_views.py the letter page's views: decide (edit saved first), next/previous, undo
letters.py      LetterAdmin (queue and letter page together)
editions.py     editions of the letters page: the edition builder
edition_exports.py  a published edition's print-ready text, HTML fragment and JSON
inbound.py      every inbound email as it arrived
replies.py      reply templates and replies
articles.py     articles
article_feeds.py  the publication's article feeds: last fetch, status, count
campaigns.py    clusters of near-duplicates (campaigns) and other outlets' letters desks
pages.py        the desk's own pages: the dashboard and the writer page
charts.py       the dashboard's bar charts, drawn on the server as SVG
"""

from django.contrib import admin

from ..models import (
    Article,
    ArticleFeed,
    Cluster,
    DeskDomain,
    Edition,
    InboundEmail,
    Letter,
    Reply,
    ReplyTemplate,
)
from .article_feeds import ArticleFeedAdmin
from .articles import ArticleAdmin
from .campaigns import ClusterAdmin, DeskDomainAdmin
from .editions import EditionAdmin
from .inbound import InboundEmailAdmin
from .letters import LetterAdmin
from .replies import ReplyAdmin, ReplyTemplateAdmin

admin.site.register(Article, ArticleAdmin)
admin.site.register(Letter, LetterAdmin)
admin.site.register(Edition, EditionAdmin)
admin.site.register(InboundEmail, InboundEmailAdmin)
admin.site.register(ReplyTemplate, ReplyTemplateAdmin)
admin.site.register(Reply, ReplyAdmin)
admin.site.register(ArticleFeed, ArticleFeedAdmin)
admin.site.register(Cluster, ClusterAdmin)
admin.site.register(DeskDomain, DeskDomainAdmin)
