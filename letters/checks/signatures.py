"""Near-duplicate detection, the signatures: a letter's shingles (letters.checks.shingles)
become a MinHash signature (datasketch), the signature LSH band keys.

Two letters whose shingle sets overlap a lot (Jaccard similarity) share, with high probability,
at least one band key; the index (letters.checks.index) keeps band keys in a table with an
index, so candidates are found by an indexed lookup, never by comparing every pair. Candidates
are then kept only if their signatures' estimated Jaccard is above the desk's threshold.

Everything here is deterministic across processes (no salted hash()): every worker computes
the same signature and keys for the same text. Importing datasketch (with numpy and scipy)
costs about half a second of CPU, so only the analysis, the rebuild and their tests load this
module; a test checks that the desk's other processes start without it.
"""

import zlib

import numpy as np
from datasketch import MinHash

from .shingles import SHINGLE_WORDS, words

# 256 values: the estimate's standard error at a Jaccard of 0.5 is 0.03.
NUM_PERM = 256
# Bands of ROWS values: two letters become candidates when any band is equal in both. With 42
# bands of 3 rows, letters of Jaccard 0.5 are candidates with probability 1 - (1 - 0.5^3)^42
# = 0.996, letters of 0.2 with 0.29 and of 0.05 with 0.005 (the estimate then sorts them).
ROWS = 3
BANDS = 42
# One MinHash's permutations, made once per process (the seed fixes them everywhere).
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32", hashfunc=int)
# Odd 64-bit constants that mix a band's values into its key (splitmix64's).
_MIX = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_BAND_SEEDS = (np.arange(BANDS, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
_MASK32 = np.uint64(0xFFFFFFFF)
_WORD_MIX = (np.uint64(0x9E3779B1), np.uint64(0x85EBCA77), np.uint64(0xC2B2AE3D))


def shingle_hashes(text):
    """The hashes of the text's shingles, sorted and unique (uint32), without building the
    shingles: each word is hashed once (CRC-32, the same in every process) and each run of
    SHINGLE_WORDS word hashes is mixed into one. What the signature is made of, and what the
    exact Jaccard near the threshold compares."""
    found = words(text)
    if len(found) < SHINGLE_WORDS:
        return np.array([zlib.crc32(" ".join(found).encode())], dtype=np.uint32)
    hashes = np.fromiter(map(zlib.crc32, map(str.encode, found)), dtype=np.uint64)
    n = len(found) - SHINGLE_WORDS + 1
    with np.errstate(over="ignore"):
        mixed = np.zeros(n, dtype=np.uint64)
        for position in range(SHINGLE_WORDS):
            mixed = (mixed ^ hashes[position : position + n]) * _WORD_MIX[position]
            mixed ^= mixed >> np.uint64(29)
    return np.unique((mixed & _MASK32).astype(np.uint32))


def signature(hashes):
    """The MinHash signature (datasketch) of a letter's shingle hashes (shingle_hashes()):
    NUM_PERM uint32 values."""
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=1,
        scheme="affine32",
        hashfunc=int,
        permutations=_TEMPLATE.permutations,
    )
    minhash.update_batch(hashes.tolist())
    return minhash.hashvalues


# Estimates this close to the threshold are checked exactly: the estimate's standard error at
# 0.5 is 0.03, so one 0.1 off is a 3-sigma event, and the exact check costs only near the line.
EXACT_MARGIN = 0.1


def hashed_jaccard(a, b):
    """The exact Jaccard similarity of two sorted unique hash arrays."""
    common = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - common
    return common / union if union else 1.0


def decide(estimate_value, mine, theirs, threshold):
    """The similarity to keep for a candidate pair, or None below the threshold: the estimate,
    or the exact Jaccard of the shingle hashes when the estimate is near the threshold."""
    if estimate_value >= threshold + EXACT_MARGIN:
        return estimate_value
    if estimate_value < threshold - EXACT_MARGIN:
        return None
    theirs = theirs if isinstance(theirs, np.ndarray) else from_bytes(theirs)
    exact = hashed_jaccard(mine, theirs)
    return exact if exact >= threshold else None


def decide_many(estimated, mine, theirs, threshold):
    """decide() for many candidates at once: `estimated` their estimates, `theirs` their hash
    bytes. The exact Jaccards near the threshold come from one vectorised membership test."""
    shares = list(estimated)
    near = [i for i, value in enumerate(shares) if abs(value - threshold) < EXACT_MARGIN]
    if near:
        arrays = [from_bytes(theirs[i]) for i in near]
        sizes = np.array([a.size for a in arrays])
        inside = np.isin(np.concatenate(arrays), mine, assume_unique=True)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        common = np.add.reduceat(inside, starts) if inside.size else np.zeros(len(near))
        common = np.where(sizes > 0, common, 0)
        for i, shared, size in zip(near, common.tolist(), sizes.tolist(), strict=True):
            union = mine.size + size - shared
            shares[i] = shared / union if union else 1.0
    return [share if share >= threshold else None for share in shares]


def to_bytes(values):
    return np.asarray(values, dtype="<u4").tobytes()


def from_bytes(data):
    return np.frombuffer(bytes(data), dtype="<u4")


def estimate(a, b):
    """The estimated Jaccard similarity of two signatures: the share of equal values."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def estimates(values, blobs):
    """The estimates of one signature against many stored ones (bytes), at once."""
    if not blobs:
        return np.zeros(0)
    others = np.frombuffer(b"".join(bytes(b) for b in blobs), dtype="<u4").reshape(-1, NUM_PERM)
    return np.count_nonzero(others == values, axis=1) / NUM_PERM


def band_keys_of(signatures):
    """The BANDS band keys of each row of `signatures` (n x NUM_PERM): n x BANDS signed 64-bit
    integers (a bigint column). Equal bands give equal keys; each band mixes in its number."""
    values = np.asarray(signatures, dtype=np.uint64)[:, : BANDS * ROWS].reshape(-1, BANDS, ROWS)
    with np.errstate(over="ignore"):
        keys = np.broadcast_to(_BAND_SEEDS, values.shape[:2]).copy()
        for row in range(ROWS):
            keys ^= values[:, :, row]
            keys ^= keys >> np.uint64(30)
            keys *= _MIX[0]
            keys ^= keys >> np.uint64(27)
            keys *= _MIX[1]
            keys ^= keys >> np.uint64(31)
    return keys.view(np.int64)


def band_keys(values):
    """The BANDS band keys of one signature, as Python ints."""
    return band_keys_of(np.asarray(values)[None, :])[0].tolist()
