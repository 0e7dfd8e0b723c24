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

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..addresses import normalise_address
from ..models import Cluster, Letter, LetterBand, LetterSignature, SimilarPair
from . import signatures
from .clusters import forget_one, recluster, serialise, window

# --- One letter ------------------------------------------------------------------------------
# The path every new letter takes is written in plain SQL (portable: PostgreSQL and SQLite):
# the ORM's own work per query would be most of the 2 ms budget.

# A big campaign's copies match each other all: a new letter is compared with at most
# MAX_CANDIDATES of them (enough to join their cluster) and keeps its MAX_PAIRS closest.
MAX_CANDIDATES = 1000
MAX_PAIRS = 100


def _tables():
    return {
        "letter": Letter._meta.db_table,
        "signature": LetterSignature._meta.db_table,
        "band": LetterBand._meta.db_table,
        "pair": SimilarPair._meta.db_table,
        "cluster": Cluster._meta.db_table,
    }


def _in(values):
    return ", ".join(["%s"] * len(values))


def _array(values):
    """A PostgreSQL array literal ('{1,2,3}'): psycopg sends one string, where a list is
    dumped element by element in Python (most of the CPU of a letter's statements)."""
    return "{" + ",".join(map(str, values)) + "}"


def _POSTGRES():  # noqa: N802 - reads as the constant it is, per connection
    return connection.vendor == "postgresql"


def candidates(cursor, letter_id, keys, created_at):
    """(id, signature bytes, shingle hash bytes, writer, cluster) of the letters in the window
    that share a band key with `keys`: one indexed query."""
    t = _tables()
    span = window()
    # PostgreSQL takes the keys as one array parameter: quoting 42 parameters one by one is
    # a good part of the budget.
    among, params = (
        ("= ANY(%s::bigint[])", [_array(keys)]) if _POSTGRES() else (f"IN ({_in(keys)})", keys)
    )
    cursor.execute(
        f"SELECT letter_id, minhash, hashes, writer, cluster_id FROM {t['signature']} "
        f"WHERE letter_id IN (SELECT letter_id FROM {t['band']} WHERE key {among} "
        "AND created_at >= %s AND created_at <= %s) AND letter_id <> %s LIMIT %s",
        [*params, created_at - span, created_at + span, letter_id, MAX_CANDIDATES],
    )
    return cursor.fetchall()


def _lock_letter(cursor, t, letter_id):
    """The letter's body, email and created_at (aware), with its stored signature and writer
    (None, None if it is not indexed yet), its row locked; None if the letter is gone."""
    lock = " FOR UPDATE OF l" if connection.features.has_select_for_update else ""
    cursor.execute(
        f"SELECT l.body, l.email, l.created_at, s.minhash, s.writer FROM {t['letter']} l "
        f"LEFT JOIN {t['signature']} s ON s.letter_id = l.id WHERE l.id = %s{lock}",
        [letter_id],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    body, email, created_at, old_blob, old_writer = row
    created_at = Letter._meta.get_field("created_at").to_python(created_at)
    if settings.USE_TZ and timezone.is_naive(created_at):
        created_at = timezone.make_aware(created_at, timezone.UTC)
    return body, email, created_at, old_blob, old_writer


def _near_duplicates(found, values, hashes, writer):
    """The `found` candidates similar enough to keep, closest first, each as (share, other id,
    same writer, other's cluster)."""
    shares = signatures.decide_many(
        signatures.estimates(values, [row[1] for row in found]).tolist(),
        hashes,
        [row[2] for row in found],
        settings.LETTERS_CAMPAIGN_THRESHOLD,
    )
    return sorted(
        (
            (share, other_id, other_writer == writer, cluster_id)
            for (other_id, _, _, other_writer, cluster_id), share in zip(found, shares, strict=True)
            if share is not None
        ),
        reverse=True,
    )


def _shared_cluster(matches):
    """The cluster every match is already in, else None. The usual case of a campaign: the
    letter joins it at once."""
    clusters = {cluster for *_, cluster in matches}
    return clusters.pop() if len(clusters) == 1 else None


def index_letter(letter_id, *, now=None):
    """Add one letter to the index, or refresh it if its text changed: its signature and band
    keys, its near-duplicates in the window and its cluster. Idempotent: a letter indexed with
    the same text is left as it is. Returns how many near-duplicates it keeps (pairs), or None
    if the letter is gone.

    Five statements in the usual case: the letter (locked) with its old signature, the
    index's lock, the candidates, the inserts (one statement on PostgreSQL), the cluster's
    count."""
    t = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        # The letter's row first, then the index's lock: the order deletion takes them in.
        row = _lock_letter(cursor, t, letter_id)
        if row is None:
            return None  # deleted meanwhile
        body, email, created_at, old_blob, old_writer = row
        hashes = signatures.shingle_hashes(body)
        values = signatures.signature(hashes)
        keys = signatures.band_keys(values)
        blob = signatures.to_bytes(values)
        writer = normalise_address(email)
        if old_blob is not None and bytes(old_blob) == blob and old_writer == writer:
            return SimilarPair.objects.filter(letter_id=letter_id).count()
        serialise()
        stale_cluster = forget_one(letter_id) if old_blob is not None else None
        found = candidates(cursor, letter_id, keys, created_at)
        matches = _near_duplicates(found, values, hashes, writer)
        joined = _shared_cluster(matches)
        kept = matches[:MAX_PAIRS]
        signature = [
            letter_id,
            created_at,
            writer,
            blob,
            hashes.tobytes(),
            hashes.size,
            joined,
            now or timezone.now(),
        ]
        _insert(cursor, t, signature, keys, kept)
        if joined:
            _recount(cursor, t, joined)
        elif matches:
            _join_clusters(cursor, t, letter_id, matches)
        if stale_cluster:
            recluster([stale_cluster])
    return len(kept)


_SIGNATURE = "(letter_id, created_at, writer, minhash, hashes, shingles, cluster_id, indexed_at) "


def _insert(cursor, t, signature, keys, kept):
    """The signature, its band keys and its pairs (both directions): one statement with
    arrays on PostgreSQL, three elsewhere."""
    letter_id, created_at = signature[0], signature[1]
    others = [other for _, other, _, _ in kept]
    if _POSTGRES():
        cursor.execute(
            f"WITH signature AS (INSERT INTO {t['signature']} {_SIGNATURE}"
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)), "
            f"bands AS (INSERT INTO {t['band']} (letter_id, key, created_at) "
            "SELECT %s, k, %s FROM unnest(%s::bigint[]) AS k) "
            f"INSERT INTO {t['pair']} (letter_id, other_id, jaccard, same_writer) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[], %s::boolean[])",
            [
                *signature,
                letter_id,
                created_at,
                _array(keys),
                _array([letter_id] * len(kept) + others),
                _array(others + [letter_id] * len(kept)),
                _array([share for share, *_ in kept] * 2),
                _array(["t" if same else "f" for _, _, same, _ in kept] * 2),
            ],
        )
        return
    cursor.execute(
        f"INSERT INTO {t['signature']} {_SIGNATURE}VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        signature,
    )
    cursor.execute(
        f"INSERT INTO {t['band']} (letter_id, key, created_at) VALUES "
        + ", ".join(["(%s, %s, %s)"] * len(keys)),
        [value for key in keys for value in (letter_id, key, created_at)],
    )
    if kept:
        cursor.execute(
            f"INSERT INTO {t['pair']} (letter_id, other_id, jaccard, same_writer) VALUES "
            + ", ".join(["(%s, %s, %s, %s)"] * (2 * len(kept))),
            [
                value
                for share, other, same, _ in kept
                for value in (letter_id, other, share, same, other, letter_id, share, same)
            ],
        )


def _recount(cursor, t, cluster_id):
    cursor.execute(
        f"UPDATE {t['cluster']} SET "
        f"size = (SELECT COUNT(*) FROM {t['signature']} WHERE cluster_id = %s), "
        f"writers = (SELECT COUNT(DISTINCT writer) FROM {t['signature']} WHERE cluster_id = %s), "
        "updated_at = %s WHERE id = %s",
        [cluster_id, cluster_id, timezone.now(), cluster_id],
    )


def _join_clusters(cursor, t, letter_id, matches):
    """Put the letter, its matches and their clusters into one cluster (the oldest of theirs,
    else a new one), then recount it."""
    clusters = sorted({cluster for *_, cluster in matches if cluster})
    if clusters:
        target = clusters[0]
    else:
        cursor.execute(
            f"INSERT INTO {t['cluster']} (size, writers, updated_at) VALUES (0, 0, %s) "
            "RETURNING id",
            [timezone.now()],
        )
        target = cursor.fetchone()[0]
    loose = [other_id for _, other_id, _, cluster in matches if not cluster]
    members = [letter_id, *loose]
    condition = f"letter_id IN ({_in(members)})"
    if clusters[1:]:
        condition += f" OR cluster_id IN ({_in(clusters[1:])})"
    cursor.execute(
        f"UPDATE {t['signature']} SET cluster_id = %s WHERE {condition}",
        [target, *members, *clusters[1:]],
    )
    if clusters[1:]:
        cursor.execute(
            f"DELETE FROM {t['cluster']} WHERE id IN ({_in(clusters[1:])})", clusters[1:]
        )
    _recount(cursor, t, target)
