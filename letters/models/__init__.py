"""The desk's records, one room each; import them from here (letters.models).

status.py    Status, TRANSITIONS and the other statuses, reasons and channels
articles.py  Article
letters.py   Letter and its queryset, LetterEvent (the audit trail), Note
flags.py     the FLAGS table and the conditions that compute each flag
editions.py  Edition, EditionLetter, EditionEvent
replies.py   ReplyTemplate, Reply, Notification
inbound.py   InboundEmail (raw mail first), InboundEmailEvent, EmailAcknowledgement
erasures.py  WriterErasure (the log of erasures, without the data erased)
feeds.py     ArticleFeed: the publication's article feeds and how their last fetch went
checks.py    the similarity index (signatures, band keys, pairs, clusters), the exclusivity
             and quote checks, other desks' domains, writer merges
"""

from .articles import Article, ArticleQuerySet
from .checks import (
    Cluster,
    DeskDomain,
    LetterBand,
    LetterChecks,
    LetterSignature,
    SimilarPair,
    WriterMerge,
)
from .editions import (
    Edition,
    EditionEvent,
    EditionLetter,
    EditionQuerySet,
    PublishedDay,
    place_in_editions,
    publication_dates,
    published_days,
    published_outside_editions,
)
from .erasures import WriterErasure
from .feeds import ArticleFeed, FeedStatus
from .flags import FLAGS, Flag
from .inbound import (
    EmailAcknowledgement,
    InboundEmail,
    InboundEmailEvent,
    InboundEmailQuerySet,
    InboundStatus,
    WayIn,
)
from .letters import (
    PUBLIC_FIELDS,
    Letter,
    LetterEvent,
    LetterQuerySet,
    Note,
    count_words,
    fingerprint,
    new_client_token,
    resubmission_key,
)
from .replies import Notification, NotificationKind, Reply, ReplyKind, ReplyTemplate
from .status import (
    AWAITING_DECISION,
    PUBLISHABLE,
    TRANSITIONS,
    UNDECIDED,
    Channel,
    EditionStatus,
    RejectionReason,
    Status,
)

__all__ = [
    "PublishedDay",
    "place_in_editions",
    "publication_dates",
    "published_days",
    "published_outside_editions",
    "AWAITING_DECISION",
    "FLAGS",
    "PUBLIC_FIELDS",
    "PUBLISHABLE",
    "TRANSITIONS",
    "UNDECIDED",
    "Article",
    "ArticleFeed",
    "ArticleQuerySet",
    "Channel",
    "Cluster",
    "DeskDomain",
    "LetterBand",
    "LetterChecks",
    "LetterSignature",
    "SimilarPair",
    "WriterMerge",
    "Edition",
    "EditionEvent",
    "EditionLetter",
    "EditionQuerySet",
    "EditionStatus",
    "EmailAcknowledgement",
    "FeedStatus",
    "Flag",
    "InboundEmail",
    "InboundEmailEvent",
    "InboundEmailQuerySet",
    "InboundStatus",
    "Letter",
    "LetterEvent",
    "LetterQuerySet",
    "Note",
    "Notification",
    "NotificationKind",
    "RejectionReason",
    "Reply",
    "ReplyKind",
    "ReplyTemplate",
    "Status",
    "WayIn",
    "WriterErasure",
    "count_words",
    "fingerprint",
    "new_client_token",
    "resubmission_key",
]
