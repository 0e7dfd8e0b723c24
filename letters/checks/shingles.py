"""Near-duplicate detection, the pure part: a letter's words become 3-word shingles, the
shingles a MinHash signature (datasketch), the signature LSH band keys.

Two letters whose shingle sets overlap a lot (Jaccard similarity) share, with high probability,
at least one band key; the index (letters.checks.index) keeps band keys in a table with an
index, so candidates are found by an indexed lookup, never by comparing every pair. Candidates
are then kept only if their signatures' estimated Jaccard is above the desk's threshold.

Everything here is deterministic across processes (no salted hash()): every worker computes
the same signature and keys for the same text.
"""

import hashlib
import html
import re
import zlib

import numpy as np
from datasketch import MinHash

SHINGLE_WORDS = 3
NUM_PERM = 128
# Bands of ROWS values: two letters become candidates when any band is equal in both. With 42
# bands of 3 rows, letters of Jaccard 0.5 are candidates with probability 1 - (1 - 0.5^3)^42
# = 0.996, letters of 0.2 with 0.29 and of 0.05 with 0.005 (the estimate then sorts them).
ROWS = 3
BANDS = NUM_PERM // ROWS
# Hostile input is capped before any work: letters are a few hundred words.
MAX_WORDS = 5000

_WORD = re.compile(r"\w+")
# One MinHash's permutations, made once per process (the seed fixes them everywhere).
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32", hashfunc=zlib.crc32)


def words(text):
    """The letter's words, lower case, without punctuation (at most MAX_WORDS)."""
    return [m.group().lower() for m in _WORD.finditer(text[: MAX_WORDS * 20])][:MAX_WORDS]


def shingles(text):
    """The set of SHINGLE_WORDS-word shingles of `text` (a shorter text is one shingle)."""
    found = words(text)
    if len(found) < SHINGLE_WORDS:
        return {" ".join(found)}  # no words at all: {""}, the same as every wordless text
    return {" ".join(found[i : i + SHINGLE_WORDS]) for i in range(len(found) - SHINGLE_WORDS + 1)}


def jaccard(a, b):
    """The exact Jaccard similarity of two sets."""
    return len(a & b) / len(a | b) if a or b else 0.0


def signature(shingle_set):
    """The MinHash signature of a shingle set: NUM_PERM uint32 values."""
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=1,
        scheme="affine32",
        hashfunc=zlib.crc32,
        permutations=_TEMPLATE.permutations,
    )
    minhash.update_batch([s.encode() for s in shingle_set])
    return minhash.hashvalues


def to_bytes(values):
    return np.asarray(values, dtype="<u4").tobytes()


def from_bytes(data):
    return np.frombuffer(bytes(data), dtype="<u4")


def estimate(a, b):
    """The estimated Jaccard similarity of two signatures: the share of equal values."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def band_keys(values):
    """The BANDS band keys of a signature, each a signed 64-bit integer (a bigint column)."""
    raw = to_bytes(values)
    width = ROWS * 4
    return [
        int.from_bytes(
            hashlib.blake2b(
                bytes([band]) + raw[band * width : (band + 1) * width], digest_size=8
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(BANDS)
    ]


def shared_passages_html(text, shared):
    """`text`, HTML-escaped, with the runs of words that belong to a shingle in `shared` marked
    (<mark>): the passages a letter has in common with others."""
    matches = list(_WORD.finditer(text[: MAX_WORDS * 20]))[:MAX_WORDS]
    lowered = [m.group().lower() for m in matches]
    covered = [False] * len(matches)
    for i in range(max(len(matches) - SHINGLE_WORDS + 1, 0)):
        if " ".join(lowered[i : i + SHINGLE_WORDS]) in shared:
            covered[i : i + SHINGLE_WORDS] = [True] * SHINGLE_WORDS
    out, position, i = [], 0, 0
    while i < len(matches):
        if not covered[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(matches) and covered[j + 1]:
            j += 1
        start, end = matches[i].start(), matches[j].end()
        out.append(html.escape(text[position:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
        i = j + 1
    out.append(html.escape(text[position:]))
    return "".join(out)
