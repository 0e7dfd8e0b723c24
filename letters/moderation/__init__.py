"""The only code that changes a letter's status, and the desk's other editorial acts.

Views, the admin, tasks and commands call these functions; each checks the actor's permission,
locks the row, checks the move against models.TRANSITIONS, records an event with who and when,
and starts follow-up work after commit (letters.jobs). All are safe to run twice.

rules.py        transition, record, permissions, the errors
arrivals.py     submit, confirm, receive by email, follow-ups
decisions.py    shortlist, approve, reject, spam, reconsider, withdraw, expire, assign
editing.py      the version to publish, notes
publication.py  publish and schedule letters and editions, publish_due
screening.py    suspect content (links, spam phrases) and the publisher's spam service
erasure.py      a writer's data: export, erasure at their request, deleting a letter
campaigns.py    a campaign settled at once: keep one letter, reject the rest
writers.py      a writer's addresses (merged by an editor) and letters
"""

from .arrivals import (
    FOLLOW_UP,
    confirm,
    receive_by_email,
    receive_many_by_email,
    record_follow_up,
    submit,
)
from .campaigns import NotInCluster, settle_campaign
from .decisions import (
    approve,
    assign_to_article,
    expire,
    expire_undecided,
    mark_spam,
    queue_reply,
    reconsider,
    reject,
    shortlist,
    withdraw,
)
from .editing import EditConflict, add_note, edit_text, text_version
from .erasure import delete_letter, erase_writer
from .publication import (
    EditionNotReady,
    publish,
    publish_due,
    publish_edition,
    schedule,
    schedule_edition,
    unpublish,
    unschedule_edition,
)
from .rules import (
    PERMISSIONS,
    NotPermitted,
    StaleDecision,
    TransitionNotAllowed,
    can,
    check,
    last_change,
    record,
    transition,
)
from .screening import check_with_spam_service, screen
from .writer_data import export_writer
from .writers import merge_writers

__all__ = [
    "FOLLOW_UP",
    "PERMISSIONS",
    "EditConflict",
    "EditionNotReady",
    "NotInCluster",
    "NotPermitted",
    "StaleDecision",
    "TransitionNotAllowed",
    "add_note",
    "approve",
    "assign_to_article",
    "can",
    "check_with_spam_service",
    "check",
    "confirm",
    "delete_letter",
    "edit_text",
    "erase_writer",
    "last_change",
    "expire",
    "expire_undecided",
    "export_writer",
    "mark_spam",
    "merge_writers",
    "publish",
    "publish_due",
    "publish_edition",
    "queue_reply",
    "receive_by_email",
    "receive_many_by_email",
    "reconsider",
    "record",
    "record_follow_up",
    "reject",
    "schedule",
    "schedule_edition",
    "screen",
    "settle_campaign",
    "shortlist",
    "submit",
    "text_version",
    "transition",
    "unpublish",
    "unschedule_edition",
    "withdraw",
]
