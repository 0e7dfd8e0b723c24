"""The similarity index, kept in the database: one signature and BANDS band keys per letter,
the near-duplicate pairs found, and the clusters they form.

Why the database and not Redis: the band keys must be shared by every worker and survive
restarts, and must go when their letter goes. In the database they do so by CASCADE, inside the
transaction that deletes or erases the letter, and a candidate lookup is one indexed query
(`key IN (...)`); bench/bench_campaigns.py measures it against Redis sets.

Indexing one letter runs in its Celery processing step (letters.checks.analysis), never in a
request. Writers of the index are serialised (a PostgreSQL advisory lock, held to commit; on
SQLite the write transaction is already exclusive): two near-duplicates indexed at once by two
workers would otherwise miss each other, each looking before the other's keys were committed.
Indexing is a few milliseconds, so the lock costs no throughput a letters desk would notice.
"""

from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from ..models import Cluster, Letter, LetterBand, LetterSignature, SimilarPair
from . import shingles as sh

# The advisory lock's key: any 64-bit number nothing else in the desk uses.
LOCK_KEY = 0x5EED_1E77  # "seed letter"


def _serialise():
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


def _components(ids, edges):
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
        parts = sorted(_components(members, edges), key=len, reverse=True)
        touched = [pk]
        for part in parts[1:]:
            if len(part) < 2:
                LetterSignature.objects.filter(pk__in=part).update(cluster=None)
                continue
            new = Cluster.objects.create()
            LetterSignature.objects.filter(pk__in=part).update(cluster=new)
            touched.append(new.pk)
        recount(touched)


# --- One letter ------------------------------------------------------------------------------


def _candidates(letter_id, keys, created_at):
    """Ids of letters in the window sharing a band key with `keys` (one indexed query)."""
    span = window()
    return (
        LetterBand.objects.filter(
            key__in=keys, created_at__gte=created_at - span, created_at__lte=created_at + span
        )
        .exclude(letter_id=letter_id)
        .values_list("letter_id", flat=True)
        .distinct()
    )


def _forget(letter_id):
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
        _serialise()
        clusters = [_forget(pk) for pk in letter_ids]
        recluster(clusters)


def index_letter(letter_id, *, now=None):
    """Add one letter to the index, or refresh it if its text changed: its signature and band
    keys, its near-duplicates in the window and its cluster. Idempotent: a letter indexed with
    the same text is left as it is. Returns its SimilarPair count, or None if it is gone."""
    letter = Letter.objects.filter(pk=letter_id).only("id", "body", "email", "created_at").first()
    if letter is None:
        return None
    shingle_set = sh.shingles(letter.body)
    values = sh.signature(shingle_set)
    keys = sh.band_keys(values)
    blob = sh.to_bytes(values)
    threshold = settings.LETTERS_CAMPAIGN_THRESHOLD
    writer = letter.email.lower()
    with transaction.atomic():
        # The letter's row first, then the index's lock: the order deletion takes them in.
        if not list(Letter.objects.select_for_update().filter(pk=letter_id).values_list("pk")):
            return None  # deleted meanwhile
        _serialise()
        old = LetterSignature.objects.filter(pk=letter_id).values_list("minhash", "writer").first()
        if old is not None and bytes(old[0]) == blob and old[1] == writer:
            return SimilarPair.objects.filter(letter_id=letter_id).count()
        stale_cluster = _forget(letter_id) if old is not None else None
        matches = []
        for other_id, other_blob, other_writer, cluster_id in LetterSignature.objects.filter(
            pk__in=list(_candidates(letter_id, keys, letter.created_at))
        ).values_list("pk", "minhash", "writer", "cluster"):
            similarity = sh.estimate(values, sh.from_bytes(other_blob))
            if similarity >= threshold:
                matches.append((other_id, similarity, other_writer == writer, cluster_id))
        signature = LetterSignature.objects.create(
            letter_id=letter_id,
            created_at=letter.created_at,
            writer=writer,
            minhash=blob,
            shingles=len(shingle_set),
            indexed_at=now or timezone.now(),
        )
        LetterBand.objects.bulk_create(
            LetterBand(letter_id=letter_id, key=key, created_at=letter.created_at) for key in keys
        )
        SimilarPair.objects.bulk_create(
            pair
            for other_id, similarity, same, _ in matches
            for pair in (
                SimilarPair(
                    letter_id=letter_id, other_id=other_id, jaccard=similarity, same_writer=same
                ),
                SimilarPair(
                    letter_id=other_id, other_id=letter_id, jaccard=similarity, same_writer=same
                ),
            )
        )
        if matches:
            _join_clusters(signature, matches)
        if stale_cluster:
            recluster([stale_cluster])
    return len(matches)


def _join_clusters(signature, matches):
    """Put the letter, its matches and their clusters into one cluster (the oldest of theirs,
    else a new one), then recount it."""
    clusters = sorted({cluster for *_, cluster in matches if cluster})
    target = clusters[0] if clusters else Cluster.objects.create().pk
    if clusters[1:]:
        LetterSignature.objects.filter(cluster__in=clusters[1:]).update(cluster=target)
        Cluster.objects.filter(pk__in=clusters[1:]).delete()
    loose = [other_id for other_id, *_, cluster in matches if not cluster]
    LetterSignature.objects.filter(pk__in=[signature.pk, *loose]).update(cluster=target)
    recount([target])


# --- Rebuilding from the database ------------------------------------------------------------


def _clear():
    if connection.vendor == "postgresql":
        tables = [m._meta.db_table for m in (SimilarPair, LetterBand, LetterSignature, Cluster)]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
    else:
        for model in (SimilarPair, LetterBand, LetterSignature, Cluster):
            model.objects.all().delete()


def _copy(model, columns, rows, batch_size=5000):
    """Insert many rows: COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    batch = []
    for row in rows:
        batch.append(model(**dict(zip(columns, row, strict=True))))
        if len(batch) >= batch_size:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def _pairs_from_keys(all_keys, ids, times, sigs, threshold, span):
    """Near-duplicate pairs (i < j, similarity) among letters sharing a band key, within
    `span` of each other: sort the keys (numpy) and compare within each run of equal keys."""
    order = np.argsort(all_keys, kind="stable")
    sorted_keys = all_keys[order]
    owners = order // sh.BANDS
    starts = np.flatnonzero(np.diff(sorted_keys) != 0) + 1
    bounds = np.concatenate(([0], starts, [len(sorted_keys)]))
    seen, pairs = set(), []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi - lo < 2:
            continue
        members = sorted(set(owners[lo:hi].tolist()))
        for a_index, a in enumerate(members):
            for b in members[a_index + 1 :]:
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                if abs(times[a] - times[b]) > span:
                    continue
                similarity = sh.estimate(sigs[a], sigs[b])
                if similarity >= threshold:
                    pairs.append((a, b, similarity))
    return pairs


def rebuild(*, now=None, chunk_size=2000, progress=None):
    """Rebuild the whole index from the letters of the window (up to `now`): signatures, band
    keys, pairs and clusters. One transaction: workers indexing meanwhile wait for it.
    Returns {"letters": n, "pairs": n, "clusters": n}."""
    now = now or timezone.now()
    span = window()
    threshold = settings.LETTERS_CAMPAIGN_THRESHOLD
    rows = (
        Letter.objects.filter(created_at__gte=now - span)
        .order_by("pk")
        .values_list("pk", "body", "email", "created_at")
    )
    ids, writers, created, counts, sigs = [], [], [], [], []
    for pk, body, email, created_at in rows.iterator(chunk_size=chunk_size):
        shingle_set = sh.shingles(body)
        ids.append(pk)
        writers.append(email.lower())
        created.append(created_at)
        counts.append(len(shingle_set))
        sigs.append(sh.signature(shingle_set))
        if progress and len(ids) % 10000 == 0:
            progress(f"{len(ids)} letters signed")
    all_keys = np.array([key for values in sigs for key in sh.band_keys(values)], dtype=np.int64)
    times = [c.timestamp() for c in created]
    pairs = _pairs_from_keys(all_keys, ids, times, sigs, threshold, span.total_seconds())
    parts = _components(range(len(ids)), [(a, b) for a, b, _ in pairs])
    with transaction.atomic():
        _serialise()
        _clear()
        cluster_of = {}
        groups = [part for part in parts if len(part) > 1]
        clusters = Cluster.objects.bulk_create(
            Cluster(size=len(part), writers=len({writers[i] for i in part}), updated_at=now)
            for part in groups
        )
        for cluster, part in zip(clusters, groups, strict=True):
            for i in part:
                cluster_of[i] = cluster.pk
        _copy(
            LetterSignature,
            [
                "letter_id",
                "created_at",
                "writer",
                "minhash",
                "shingles",
                "cluster_id",
                "indexed_at",
            ],
            (
                (
                    ids[i],
                    created[i],
                    writers[i],
                    sh.to_bytes(sigs[i]),
                    counts[i],
                    cluster_of.get(i),
                    now,
                )
                for i in range(len(ids))
            ),
        )
        _copy(
            LetterBand,
            ["letter_id", "key", "created_at"],
            (
                (ids[i // sh.BANDS], int(key), created[i // sh.BANDS])
                for i, key in enumerate(all_keys.tolist())
            ),
        )
        _copy(
            SimilarPair,
            ["letter_id", "other_id", "jaccard", "same_writer"],
            (
                row
                for a, b, similarity in pairs
                for row in (
                    (ids[a], ids[b], similarity, writers[a] == writers[b]),
                    (ids[b], ids[a], similarity, writers[a] == writers[b]),
                )
            ),
        )
    return {"letters": len(ids), "pairs": len(pairs), "clusters": len(groups)}
