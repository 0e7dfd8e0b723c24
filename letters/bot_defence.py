"""Bot defence for the letter form, with no third party: a signed timestamp and a proof of work.

- The timestamp is signed into each page view's form; a post that comes back sooner than
  LETTERS_MIN_SECONDS_TO_WRITE is refused with the text kept, and the reader sends again.
- The proof of work is ALTCHA (the `altcha` library here; the widget, vendored under
  static/vendor/altcha/, solves it in the reader's browser). A letter without a valid, unused
  solution is not refused but held as suspect with the reason: a reader without JavaScript
  still gets through. Each challenge is signed with a key derived from SECRET_KEY, carries a
  secret counter (the browser searches for it; checking a solution is two HMACs) and an
  expiry, and is recorded in the cache once used, until it expires, so it works only once.

LETTERS_BOT_CHALLENGE=off switches off both (load tests only); the honeypot stays.
"""

import json
import logging
import secrets
import time

import altcha
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

log = logging.getLogger(__name__)

STARTED_FIELD = "started"
SOLUTION_FIELD = "altcha"
_STARTED_SALT = "letters.form-started"

ALGORITHM = "SHA-256"
# The browser tries counters from 0 up to the secret one, drawn from [MAX_NUMBER/2, MAX_NUMBER):
# about 75,000 SHA-256 hashes on average, under a second in a current browser's workers.
MAX_NUMBER = 100_000
# Long enough for a reader who opens the page and writes at leisure; a solution to an expired
# challenge only holds the letter as suspect.
CHALLENGE_LIFETIME_SECONDS = 24 * 3600


def enabled():
    return settings.LETTERS_BOT_CHALLENGE


# --- The timestamp ---------------------------------------------------------------------------


def started_token(at=None):
    """A signed "this form was shown at" for one page view (now, unless `at` is given)."""
    return signing.Signer(salt=_STARTED_SALT).sign(f"{time.time() if at is None else at:.1f}")


def too_fast(token):
    """True when a post carrying `token` came too soon after its form was shown (or the token
    is missing or forged: the reader is asked to send again, with a fresh one)."""
    if not enabled() or not settings.LETTERS_MIN_SECONDS_TO_WRITE:
        return False
    try:
        shown_at = float(signing.Signer(salt=_STARTED_SALT).unsign(token or ""))
    except (signing.BadSignature, ValueError):
        return True
    return time.time() - shown_at < settings.LETTERS_MIN_SECONDS_TO_WRITE


# --- The proof of work -----------------------------------------------------------------------


def _key(purpose):
    return salted_hmac("letters.altcha", purpose, algorithm="sha256").hexdigest()


def new_challenge():
    """A fresh signed challenge, as the JSON the widget's `challenge` attribute takes."""
    counter = MAX_NUMBER // 2 + secrets.randbelow(MAX_NUMBER - MAX_NUMBER // 2)
    challenge = altcha.create_challenge(
        ALGORITHM,
        1,
        counter=counter,
        expires_at=int(time.time()) + CHALLENGE_LIFETIME_SECONDS,
        hmac_secret=_key("challenge"),
        hmac_key_secret=_key("derived-key"),
    )
    return json.dumps(challenge.to_dict(), separators=(",", ":"))


def solve(challenge_json):
    """The widget's answer to a challenge: the base64 payload it posts. For tests and the
    benchmark (the browser does this in its workers)."""
    challenge = altcha.Challenge.from_dict(json.loads(challenge_json))
    solution = altcha.solve_challenge(challenge)
    return altcha.Payload(challenge, solution).to_base64()


def problem_with(payload):
    """Check a posted solution and use it up. Returns None when it is valid and unused, else
    why the letter is suspect. Not safe to repeat: the second call says "already used"."""
    if not enabled():
        return None
    if not payload:
        return "no proof-of-work (JavaScript off, or a bot)"
    try:
        result = altcha.verify_solution(
            payload, hmac_secret=_key("challenge"), hmac_key_secret=_key("derived-key")
        )
    except Exception:
        return "proof-of-work unreadable"
    if result.expired:
        return "proof-of-work expired"
    if not result.verified:
        return "proof-of-work invalid"
    # The signature is an HMAC over the challenge's random nonce and salt: unique to it.
    challenge = altcha.Payload.from_base64(payload).challenge
    remaining = int(challenge.parameters.expires_at - time.time()) + 1
    try:
        first_use = cache.add(f"altcha-used:{challenge.signature}", 1, timeout=max(1, remaining))
    except Exception:
        log.warning("Proof-of-work reuse not checked: the cache is unavailable", exc_info=True)
        return "proof-of-work not checked for reuse (cache unavailable)"
    return None if first_use else "proof-of-work already used"
