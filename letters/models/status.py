"""A letter's statuses and the one table of moves between them, with the reasons and channels
the desk records. letters.moderation checks every change against TRANSITIONS."""

from django.db import models


class Status(models.TextChoices):
    UNCONFIRMED = "unconfirmed", "Awaiting confirmation"
    RECEIVED = "received", "Received"
    SHORTLISTED = "shortlisted", "Shortlisted"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"
    SPAM = "spam", "Spam"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


# The one transitions table: from each status, the statuses a letter may move to.
# letters.moderation checks every change against it; nothing else changes a letter's status.
# A decision the desk can undo (moderation.undo: shortlist, reject, spam) needs its reverse here:
# rejected -> shortlisted or approved and spam -> shortlisted are those undos (and reconsidering).
TRANSITIONS = {
    Status.UNCONFIRMED: {Status.RECEIVED, Status.SPAM, Status.WITHDRAWN, Status.EXPIRED},
    Status.RECEIVED: {
        Status.SHORTLISTED,
        Status.APPROVED,
        Status.REJECTED,
        Status.SPAM,
        Status.WITHDRAWN,
        Status.EXPIRED,
    },
    Status.SHORTLISTED: {
        Status.RECEIVED,
        Status.APPROVED,
        Status.REJECTED,
        Status.SPAM,
        Status.WITHDRAWN,
        Status.EXPIRED,
    },
    Status.APPROVED: {Status.SHORTLISTED, Status.PUBLISHED, Status.REJECTED, Status.WITHDRAWN},
    Status.PUBLISHED: {Status.WITHDRAWN},
    Status.REJECTED: {Status.RECEIVED, Status.SHORTLISTED, Status.APPROVED},
    Status.SPAM: {Status.RECEIVED, Status.SHORTLISTED},
    Status.EXPIRED: {Status.RECEIVED},
    Status.WITHDRAWN: set(),
}

AWAITING_DECISION = (Status.RECEIVED, Status.SHORTLISTED)
# Letters still waiting for a decision, including those whose writer never confirmed them.
UNDECIDED = (Status.UNCONFIRMED, Status.RECEIVED, Status.SHORTLISTED)
# Letters that may go on the site (in an edition, or on their own).
PUBLISHABLE = (Status.APPROVED, Status.PUBLISHED)


class RejectionReason(models.TextChoices):
    NOT_SELECTED = "not_selected", "Not selected (space)"
    OFF_TOPIC = "off_topic", "Does not respond to an article"
    NOT_EXCLUSIVE = "not_exclusive", "Sent elsewhere or an open letter"
    UNVERIFIED = "unverified", "Could not verify the writer"
    CAMPAIGN = "campaign", "Part of an organised campaign"
    TOO_LATE = "too_late", "Arrived after letters closed"
    FREQUENCY = "frequency", "Writer published too recently"
    UNSUITABLE = "unsuitable", "Abusive, defamatory or unsuitable"


class Channel(models.TextChoices):
    WEB = "web", "Web form"
    EMAIL = "email", "Email"


class EditionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
