"""Rate limits for every way in: the letter form, the provider webhooks, the SMTP listener.

Fixed windows counted in Django's default cache (CACHE_URL: Redis in production, so every
worker process and machine counts together; local memory otherwise). A window of "5/10m" lets
5 through in each ten-minute period of the clock, so a burst across the boundary can reach
twice that: a cheap, predictable bound, which is all a door needs. Keys hold a hash of the
client, never an address in clear. A cache that fails lets everything through (logged): a
sick cache must never cost a letter. LETTERS_RATE_LIMITS=off switches every limit off.
"""

import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)


def client_ip(request):
    """The client's address: REMOTE_ADDR, or, behind LETTERS_TRUSTED_PROXY_COUNT proxies, the
    X-Forwarded-For entry the outermost trusted proxy appended (anything to its left was
    written by the client). Also django-axes' AXES_CLIENT_IP_CALLABLE."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.LETTERS_TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            entry.strip()
            for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if entry.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return remote


def client_key(address):
    """What one client is counted by: the address, or its /64 for IPv6 (one household or
    server gets a whole /64, so a single address would be free to change)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def hit(scope, key, rate):
    """Count one request by `key` (an address, an email) against `rate` (count, seconds).

    Returns 0 when it is within the limit, else the whole seconds until the window ends (for
    Retry-After). Every call counts, refused ones too. Safe from any thread or process
    sharing the cache: add and incr are atomic in Redis and under LocMem's lock, and when two
    requests open a window together, add lets only one of them start the count.
    """
    if not settings.LETTERS_RATE_LIMITS:
        return 0
    count, seconds = rate
    now = time.time()
    window = int(now // seconds)
    digest = hashlib.sha256(str(key).lower().encode()).hexdigest()[:32]
    cache_key = f"rate:{scope}:{seconds}:{window}:{digest}"
    try:
        # incr first: within a window the key exists, and with Redis each call is a round trip.
        try:
            used = cache.incr(cache_key)
        except ValueError:  # the window's first request
            used = 1 if cache.add(cache_key, 1, timeout=seconds + 1) else cache.incr(cache_key)
    except Exception:
        log.warning("Rate limit %s not checked: the cache is unavailable", scope, exc_info=True)
        return 0
    if used <= count:
        return 0
    return max(1, math.ceil((window + 1) * seconds - now))


def describe_wait(seconds):
    """'in 4 minutes', 'in 30 seconds': for the reader's page."""
    if seconds < 90:
        return f"in {seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"in {minutes} minutes"
    return f"in {math.ceil(minutes / 60)} hours"
