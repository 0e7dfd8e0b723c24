"""Rebuilding the similarity index from the database (`manage.py rebuild_similarity_index`):
every letter of the window shingled and signed again, its band keys, pairs and clusters
written anew in one transaction, by COPY on PostgreSQL. Indexing one letter at a time, as each
arrives, is letters.checks.index."""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..addresses import normalise_address
from ..models import Cluster, Letter, LetterBand, LetterSignature, SimilarPair
from . import signatures
from .clusters import components, serialise, window


def _clear():
    if connection.vendor == "postgresql":
        tables = [m._meta.db_table for m in (SimilarPair, LetterBand, LetterSignature, Cluster)]
        with connection.cursor() as cursor:
            # Deferred foreign-key checks still pending in this transaction would refuse it.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
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


def _copy_bands(ids, created, keys):
    """All band keys: on PostgreSQL as COPY text built a letter at a time (4 million rows at
    100,000 letters), elsewhere through _copy."""
    if connection.vendor != "postgresql":
        _copy(
            LetterBand,
            ["letter_id", "key", "created_at"],
            ((ids[i], key, created[i]) for i, row in enumerate(keys.tolist()) for key in row),
        )
        return
    table = LetterBand._meta.db_table
    with connection.cursor() as cursor:
        # Building the indexes once after the rows are in is faster than keeping them up to
        # date row by row: drop them (not the primary key), then create them again as they were.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        with cursor.cursor.copy(f"COPY {table} (letter_id, key, created_at) FROM STDIN") as copy:
            chunk = []
            for i, row in enumerate(keys.tolist()):
                tail = f"\t{created[i].isoformat()}\n"
                chunk.append("".join(f"{ids[i]}\t{key}{tail}" for key in row))
                if len(chunk) == 2000:
                    copy.write("".join(chunk))
                    chunk = []
            copy.write("".join(chunk))
        for _, definition in indexes:
            cursor.execute(definition)


# In a band shared by more letters than this (a huge campaign), each letter is compared with
# the first BUCKET_LIMIT of them only: enough to put them all in one cluster, and linear.
BUCKET_LIMIT = 200


def _pairs_from_keys(keys, times, sigs, hashes, threshold, span):
    """Near-duplicate pairs (i, j, similarity), i < j, among letters sharing a band key and
    within `span` seconds of each other: sort the keys (numpy), compare within each run."""
    flat = keys.ravel()
    order = np.argsort(flat, kind="stable")
    sorted_keys = flat[order]
    owners = order // signatures.BANDS
    starts = np.flatnonzero(np.diff(sorted_keys) != 0) + 1
    bounds = np.concatenate(([0], starts, [len(sorted_keys)]))
    runs = np.flatnonzero(np.diff(bounds) > 1)
    seen, pairs = set(), []
    for run in runs.tolist():
        members = sorted(set(owners[bounds[run] : bounds[run + 1]].tolist()))
        for position, a in enumerate(members):
            partners = members[position + 1 :]
            if len(members) > BUCKET_LIMIT:
                partners = [b for b in members[:BUCKET_LIMIT] if b > a]
            todo = [b for b in partners if (a, b) not in seen and abs(times[a] - times[b]) <= span]
            if not todo:
                continue
            seen.update((a, b) for b in todo)
            shares = np.count_nonzero(sigs[todo] == sigs[a], axis=1) / signatures.NUM_PERM
            for b, value in zip(todo, shares.tolist(), strict=True):
                share = signatures.decide(value, hashes[a], hashes[b], threshold)
                if share is not None:
                    pairs.append((a, b, share))
    return pairs


@dataclass
class _Signed:
    """The window's letters in id order, one position per letter in every list (and one row
    of `sigs`): what the index stores of each."""

    ids: list
    writers: list  # the address, normalised
    created: list
    hashes: list  # the shingle hashes, one numpy array per letter
    sigs: np.ndarray  # the MinHash signatures, (letters, NUM_PERM) uint32


def _sign_window(since, chunk_size, progress):
    """Read the letters created since `since` a chunk at a time and sign each: its shingle
    hashes and MinHash signature."""
    rows = (
        Letter.objects.filter(created_at__gte=since)
        .order_by("pk")
        .values_list("pk", "body", "email", "created_at")
    )
    ids, writers, created, sigs, hashes = [], [], [], [], []
    for pk, body, email, created_at in rows.iterator(chunk_size=chunk_size):
        ids.append(pk)
        writers.append(normalise_address(email))
        created.append(created_at)
        hashes.append(signatures.shingle_hashes(body))
        sigs.append(signatures.signature(hashes[-1]))
        if progress and len(ids) % 10000 == 0:
            progress(f"{len(ids)} letters signed")
    sigs = np.array(sigs, dtype=np.uint32).reshape(-1, signatures.NUM_PERM)
    return _Signed(ids=ids, writers=writers, created=created, hashes=hashes, sigs=sigs)


def _create_clusters(groups, writers, now):
    """One cluster per group of positions (a list of at least two); returns the cluster's id
    by position."""
    clusters = Cluster.objects.bulk_create(
        Cluster(size=len(part), writers=len({writers[i] for i in part}), updated_at=now)
        for part in groups
    )
    cluster_of = {}
    for cluster, part in zip(clusters, groups, strict=True):
        for i in part:
            cluster_of[i] = cluster.pk
    return cluster_of


def _copy_signatures(signed, cluster_of, now):
    """Each letter's signature row, in its cluster if it has one (`cluster_of`: by position)."""
    letters = zip(
        signed.ids, signed.created, signed.writers, signed.sigs, signed.hashes, strict=True
    )
    _copy(
        LetterSignature,
        [
            "letter_id",
            "created_at",
            "writer",
            "minhash",
            "hashes",
            "shingles",
            "cluster_id",
            "indexed_at",
        ],
        (
            (
                pk,
                created_at,
                writer,
                sig.tobytes(),
                hashes.tobytes(),
                hashes.size,
                cluster_of.get(i),
                now,
            )
            for i, (pk, created_at, writer, sig, hashes) in enumerate(letters)
        ),
    )


def _copy_pairs(signed, pairs):
    """Each pair (positions a, b, similarity) in both directions."""
    ids, writers = signed.ids, signed.writers
    _copy(
        SimilarPair,
        ["letter_id", "other_id", "jaccard", "same_writer"],
        (
            row
            for a, b, share in pairs
            for row in (
                (ids[a], ids[b], share, writers[a] == writers[b]),
                (ids[b], ids[a], share, writers[a] == writers[b]),
            )
        ),
    )


def rebuild(*, now=None, chunk_size=2000, progress=None):
    """Rebuild the whole index from the letters of the window (up to `now`): signatures, band
    keys, pairs and clusters. One transaction: workers indexing meanwhile wait for it.
    Returns {"letters": n, "pairs": n, "clusters": n}."""
    now = now or timezone.now()
    span = window()
    threshold = settings.LETTERS_CAMPAIGN_THRESHOLD
    signed = _sign_window(now - span, chunk_size, progress)
    keys = signatures.band_keys_of(signed.sigs)
    times = [c.timestamp() for c in signed.created]
    pairs = _pairs_from_keys(
        keys, times, signed.sigs, signed.hashes, threshold, span.total_seconds()
    )
    parts = components(range(len(signed.ids)), [(a, b) for a, b, _ in pairs])
    groups = [part for part in parts if len(part) > 1]
    with transaction.atomic():
        serialise()
        _clear()
        cluster_of = _create_clusters(groups, signed.writers, now)
        _copy_signatures(signed, cluster_of, now)
        _copy_bands(signed.ids, signed.created, keys)
        _copy_pairs(signed, pairs)
    return {"letters": len(signed.ids), "pairs": len(pairs), "clusters": len(groups)}
