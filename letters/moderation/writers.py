"""A writer seen whole: the addresses the desk knows to be one person (merged by an editor,
recorded with who and when), and everything they sent from any of them."""

from django.db import transaction
from django.db.models import Q

from ..models import Letter, WriterMerge
from .rules import check, signed_in
from .writer_data import writer_address


def canonical(address):
    """The address `address` was merged into, else itself (normalised)."""
    address = writer_address(address)
    merged = WriterMerge.objects.filter(address=address).values_list("merged_into", flat=True)
    return merged.first() or address


def addresses(address):
    """Every address of the writer at `address`: the canonical one first, then those merged
    into it."""
    main = canonical(address)
    merged = WriterMerge.objects.filter(merged_into=main).order_by("address")
    return [main, *merged.values_list("address", flat=True)]


def merges_of(address):
    """The recorded merges into the writer at `address`, newest first."""
    return WriterMerge.objects.filter(merged_into=canonical(address)).select_related("actor")


def letters_of(address):
    """The letters written from any of the writer's addresses (case-insensitive)."""
    condition = Q()
    for each in addresses(address):
        condition |= Q(email__iexact=each)
    return Letter.objects.filter(condition)


@transaction.atomic
def merge_writers(address, into, *, actor=None, actor_label="", note=""):
    """Record that `address` is the same writer as `into`: their letters show together on the
    writer page from now on. Needs the permission to decide on letters. Returns (merge,
    changed); merging again, or an address into itself, changes nothing. An address already
    merged elsewhere is moved (recorded anew); one that others were merged into brings them."""
    check(actor, "reconsider")
    address, into = writer_address(address), canonical(into)
    if address == into:
        return None, False
    existing = WriterMerge.objects.filter(address=address).first()
    if existing is not None and existing.merged_into == into:
        return existing, False
    if existing is not None:
        existing.delete()
    WriterMerge.objects.filter(merged_into=address).update(merged_into=into)
    merge = WriterMerge.objects.create(
        address=address,
        merged_into=into,
        action="merged",
        actor=signed_in(actor),
        actor_label=actor_label,
        note=note[:500],
    )
    return merge, True
