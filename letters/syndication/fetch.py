"""One HTTP GET of the publication's site, as hostile input: a timeout on every read, a
deadline for the whole answer, a size cap checked while reading, http(s) only.

Knows nothing of feeds or articles; raises FetchError with a reason an editor can read.
"""

import time
from dataclasses import dataclass

import requests

USER_AGENT = "letters-desk/1 (reads the publication's article feeds and pages)"


class FetchError(Exception):
    """The fetch failed; the message says why (timeout, status, too large, refused)."""


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304 (not modified since the validators sent)
    body: bytes
    content_type: str
    etag: str
    last_modified: str


def get(
    url,
    *,
    timeout,
    max_bytes,
    etag="",
    last_modified="",
    accept="*/*",
    follow_redirects=True,
):
    """GET `url`, sending the validators given (If-None-Match, If-Modified-Since). Returns a
    Fetched for a 200 or a 304; raises FetchError for anything else, for a body over
    `max_bytes`, or when the whole answer takes longer than `timeout` seconds."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"not an http(s) address: {url[:100]!r}")
    headers = {"User-Agent": USER_AGENT, "Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.max_redirects = 5
    try:
        with session.get(
            url,
            headers=headers,
            timeout=timeout,
            stream=True,
            allow_redirects=follow_redirects,
        ) as response:
            if response.status_code == 304:
                return Fetched(304, b"", "", etag, last_modified)
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code} {response.reason or ''}".strip())
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"larger than {max_bytes} bytes ({declared} declared)")
            body = _read_capped(response, max_bytes, deadline, timeout)
            return Fetched(
                200,
                body,
                response.headers.get("Content-Type", ""),
                response.headers.get("ETag", ""),
                response.headers.get("Last-Modified", ""),
            )
    except requests.Timeout:
        raise FetchError(f"timed out after {timeout} s") from None
    except requests.TooManyRedirects:
        raise FetchError("too many redirects") from None
    except requests.RequestException as exc:
        raise FetchError(f"could not connect: {type(exc).__name__}") from None
    finally:
        session.close()


def _read_capped(response, max_bytes, deadline, timeout):
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchError(f"timed out after {timeout} s")
        chunks.append(chunk)
    return b"".join(chunks)
