"""The only code that changes a letter's status, and the desk's other editorial acts.

Views, the admin, tasks and commands call these functions; each checks the actor's permission,
locks the row, checks the move against models.TRANSITIONS, records an event with who and when,
and starts follow-up work after commit (letters.jobs). All are safe to run twice.

rules.py        transition, record, permissions, the errors
arrivals.py     submit, confirm, receive by email, follow-ups
decisions.py    shortlist, approve, reject, spam, reconsider, withdraw (also by the writer),
                expire, assign, undo
editing.py      the version to publish, notes
editions.py     assemble an edition: create, add and remove letters, order, headlines
publication.py  publish and schedule letters and editions, publish_due
screening.py    suspect content (links, spam phrases) and the publisher's spam service
writer_data.py  what the desk holds about a writer, and its export
erasure.py      erasing a writer at their request, deleting a letter with its trail kept
campaigns.py    a campaign settled at once: keep one letter, reject the rest
writers.py      a writer's addresses (merged by an editor) and letters
"""

from .arrivals import (
    FOLLOW_UP,
    confirm,
    enqueue_lost_analyses,
    receive_by_email,
    receive_many_by_email,
    record_follow_up,
    start_submitted_work,
    submit,
)
from .campaigns import NotInCluster, settle_campaign
from .decisions import (
    WITHDRAWABLE_BY_WRITER,
    approve,
    assign_to_article,
    expire,
    expire_undecided,
    mark_spam,
    queue_reply,
    reconsider,
    reject,
    shortlist,
    undo,
    undoable,
    withdraw,
    withdraw_by_writer,
)
from .editing import EditConflict, EditTooLong, add_note, check_length, edit_text, text_version
from .editions import (
    EditionChanged,
    EditionNotDraft,
    add_to_edition,
    arrange_edition,
    create_edition,
    remove_from_edition,
)
from .erasure import delete_letter, erase_writer
from .publication import (
    EditionNotReady,
    PublicationPlan,
    publication_plan,
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
    "WITHDRAWABLE_BY_WRITER",
    "EditConflict",
    "EditionChanged",
    "EditionNotDraft",
    "EditTooLong",
    "EditionNotReady",
    "NotInCluster",
    "NotPermitted",
    "PublicationPlan",
    "StaleDecision",
    "TransitionNotAllowed",
    "add_note",
    "add_to_edition",
    "arrange_edition",
    "create_edition",
    "remove_from_edition",
    "approve",
    "assign_to_article",
    "can",
    "check_length",
    "check_with_spam_service",
    "check",
    "confirm",
    "enqueue_lost_analyses",
    "delete_letter",
    "edit_text",
    "erase_writer",
    "last_change",
    "expire",
    "expire_undecided",
    "export_writer",
    "mark_spam",
    "publication_plan",
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
    "start_submitted_work",
    "submit",
    "text_version",
    "transition",
    "unpublish",
    "undo",
    "undoable",
    "unschedule_edition",
    "withdraw",
    "withdraw_by_writer",
]
