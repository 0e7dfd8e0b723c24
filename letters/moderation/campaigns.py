"""A campaign settled in one act: the editor keeps one letter of a cluster of near-duplicates
for publication (approved) and rejects the rest, each with the same reason and reply
template. Every letter gets its own event, through the usual decisions."""

from django.db import transaction

from ..models import AWAITING_DECISION, LetterSignature, RejectionReason, Status
from .decisions import approve, reject
from .rules import check


class NotInCluster(ValueError):
    """The letter to keep is not one of the cluster's."""


@transaction.atomic
def settle_campaign(
    cluster_id,
    keep_id,
    *,
    letter_ids,
    actor=None,
    actor_label="",
    reason=RejectionReason.CAMPAIGN,
    reply_template=None,
):
    """Approve letter `keep_id` and reject the other letters of cluster `cluster_id` that the
    editor saw (`letter_ids`: a letter that joined the cluster since is left for them to see).
    Letters already decided are left as they are. Returns {"kept": bool, "rejected": [ids],
    "left": [ids]}. Safe to repeat: a second run changes nothing."""
    check(actor, "approve")
    check(actor, "reject")
    members = set(
        LetterSignature.objects.filter(cluster=cluster_id).values_list("letter_id", flat=True)
    )
    if keep_id not in members:
        raise NotInCluster(f"Letter #{keep_id} is not in cluster #{cluster_id}.")
    note = f"Campaign (cluster #{cluster_id}): letter #{keep_id} kept for publication."
    _, kept = approve(keep_id, actor=actor, actor_label=actor_label, note=note)
    rejected, left = [], []
    others = sorted((members & set(letter_ids)) - {keep_id})
    statuses = dict(
        LetterSignature.objects.filter(letter_id__in=others).values_list(
            "letter_id", "letter__status"
        )
    )
    for pk in others:
        if statuses.get(pk) not in (*AWAITING_DECISION, Status.APPROVED):
            left.append(pk)
            continue
        _, changed = reject(
            pk,
            reason=reason,
            actor=actor,
            actor_label=actor_label,
            note=note,
            reply_template=reply_template,
        )
        (rejected if changed else left).append(pk)
    return {"kept": kept, "rejected": rejected, "left": left}
