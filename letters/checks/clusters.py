"""The clusters of near-duplicate letters, kept in the database with the similarity index
(letters.checks.index): the index's lock, the campaign window, and mending clusters when a
letter leaves the index (deleted or erased).

Plain Django (no numpy, no datasketch): the erasure and deletion of a letter import this
without the signatures' maths (letters.checks.signatures).
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from ..models import Cluster, LetterBand, LetterSignature, SimilarPair

# The advisory lock's key: any 64-bit number nothing else in the desk uses.
LOCK_KEY = 0x5EED_1E77  # "seed letter"


def serialise():
    """Hold the index's lock until the current transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def window():
    return timedelta(days=settings.LETTERS_CAMPAIGN_WINDOW_DAYS)


# --- Clusters --------------------------------------------------------------------------------


def recount(cluster_ids):
    """Recount size and writers of `cluster_ids`; a cluster left with one letter or none is
    dissolved (a lone letter is no cluster)."""
    cluster_ids = [pk for pk in set(cluster_ids) if pk]
    if not cluster_ids:
        return
    counts = {
        row["cluster"]: row
        for row in LetterSignature.objects.filter(cluster__in=cluster_ids)
        .values("cluster")
        .annotate(size=Count("pk"), writers=Count("writer", distinct=True))
        .order_by()
    }
    now = timezone.now()
    for pk in cluster_ids:
        row = counts.get(pk)
        if row is None or row["size"] < 2:
            LetterSignature.objects.filter(cluster=pk).update(cluster=None)
            Cluster.objects.filter(pk=pk).delete()
        else:
            Cluster.objects.filter(pk=pk).update(
                size=row["size"], writers=row["writers"], updated_at=now
            )


def components(ids, edges):
    """Connected components of `ids` under `edges` (pairs of ids): union-find."""
    parent = {pk: pk for pk in ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups = {}
    for pk in ids:
        groups.setdefault(find(pk), []).append(pk)
    return list(groups.values())


def recluster(cluster_ids):
    """Split clusters that lost a letter joining their parts: the members' components under
    the pairs still stored. The largest part keeps the cluster; others get new ones."""
    for pk in {c for c in cluster_ids if c}:
        members = list(LetterSignature.objects.filter(cluster=pk).values_list("pk", flat=True))
        edges = SimilarPair.objects.filter(letter__in=members, other__in=members).values_list(
            "letter_id", "other_id"
        )
        parts = sorted(components(members, edges), key=len, reverse=True)
        touched = [pk]
        for part in parts[1:]:
            if len(part) < 2:
                LetterSignature.objects.filter(pk__in=part).update(cluster=None)
                continue
            new = Cluster.objects.create()
            LetterSignature.objects.filter(pk__in=part).update(cluster=new)
            touched.append(new.pk)
        recount(touched)


# --- A letter leaves the index -----------------------------------------------------------------


def forget_one(letter_id):
    """Take one letter out of the index (the caller holds the lock); returns its cluster."""
    cluster = LetterSignature.objects.filter(pk=letter_id).values_list("cluster", flat=True).first()
    LetterBand.objects.filter(letter_id=letter_id).delete()
    SimilarPair.objects.filter(letter_id=letter_id).delete()
    SimilarPair.objects.filter(other_id=letter_id).delete()
    LetterSignature.objects.filter(pk=letter_id).delete()
    return cluster


def forget(letter_ids):
    """Take letters out of the index and mend the clusters they were in. Called before a
    letter is deleted or erased (its rows would go by CASCADE; this also splits a cluster it
    was the only link of and recounts the rest). Safe to repeat."""
    with transaction.atomic():
        serialise()
        clusters = [forget_one(pk) for pk in letter_ids]
        recluster(clusters)
