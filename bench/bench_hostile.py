"""Time the parser (and the admin's word diff) on the worst cases we know, each at its cap.

    python bench/bench_hostile.py              # every case, best of 3 runs
    python bench/bench_hostile.py --only Cc    # the cases whose name contains "Cc"

Each case runs in a child process with a time limit (--timeout, 60 s), so a case that would
take minutes is reported as "> 60 s" instead of holding up the rest. The payloads are those
letters/tests/test_intake_hostile.py feeds the parser (and a few sizes between), the word
diffs those of letters/tests/test_word_diff.py; the documents are as large as the current
cap on their inflated XML lets through. The script builds them itself rather than importing
the tests' builders, so that it runs unchanged on an older checkout, for before/after figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import multiprocessing
import os
import random
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from letters.intake import attachments
from letters.intake.parse import ParseError, parse_email
from letters.word_diff import word_diff_html

OWN = ["letters@reaction.life"]
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
KB = 1000


def message(
    body, *, content_type="text/plain", headers=b"", sender=b"Ann Reader <ann@example.org>"
):
    if isinstance(body, str):
        body = body.encode()
    return (
        b"From: " + sender + b"\r\nTo: letters@reaction.life\r\n"
        b"Subject: Trains\r\nMessage-ID: <hostile@example.org>\r\nMIME-Version: 1.0\r\n"
        + headers
        + f"Content-Type: {content_type}; charset=utf-8\r\n\r\n".encode()
        + body
    )


def header(name, value):
    return name.encode() + b": " + value.encode() + b"\r\n"


def folded(value, width=990):
    return "\r\n ".join(value[i : i + width] for i in range(0, len(value), width))


def multipart(parts):
    body = b"".join(
        b"--b\r\nContent-Type: " + ctype + b"\r\n\r\n" + data + b"\r\n" for ctype, data in parts
    )
    return message(body + b"--b--\r\n", content_type='multipart/mixed; boundary="b"')


DOCX = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = b"application/vnd.oasis.opendocument.text"


def zipped(name, xml):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, xml)
    return buffer.getvalue()


def with_documents(documents, ctype=DOCX, filename=b"letter.docx"):
    attached = (
        ctype + b'\r\nContent-Disposition: attachment; filename="' + filename + b'"\r\n'
        b"Content-Transfer-Encoding: base64"
    )
    return multipart(
        [(b"text/plain", b"")] + [(attached, base64.encodebytes(d)) for d in documents]
    )


def docx(xml, copies=1):
    return with_documents([zipped("word/document.xml", xml)] * copies)


def odt(xml):
    return with_documents([zipped("content.xml", xml)], ODT, b"letter.odt")


def document_of(paragraph, size=attachments._MAX_XML):
    """A Word document's XML of `size` bytes (the cap, unless told): `paragraph` repeated."""
    head = f'<w:document xmlns:w="{W}"><w:body>'
    return head + paragraph * ((size - len(head) - 30) // len(paragraph)) + "</w:body></w:document>"


def odt_of(paragraph, size=attachments._MAX_XML):
    head = f'<office:document-content xmlns:office="{OFFICE}" xmlns:text="{TEXT}"><office:body>'
    tail = "</office:body></office:document-content>"
    return head + paragraph * ((size - len(head) - len(tail)) // len(paragraph)) + tail


def nested(depth, body, ctype=b"text/plain"):
    """A message whose one text part is `depth` multiparts deep."""
    head = tail = b""
    for d in range(depth):
        head += f'Content-Type: multipart/mixed; boundary="b{d}"\r\n\r\n--b{d}\r\n'.encode()
        tail = f"\r\n--b{d}--\r\n".encode() + tail
    return (
        b"From: Ann Reader <ann@example.org>\r\nMIME-Version: 1.0\r\n"
        + head
        + b"Content-Type: "
        + ctype
        + b"\r\n\r\n"
        + body
        + tail
    )


ORDINARY_HTML = "<p>Dear Editor, the trains to Hexham are <b>late</b> again.</p>\n"

MESSAGES = {
    "To: 100 KB of 'a'": lambda: message("Dear Editor", headers=header("To", "a" * 100 * KB)),
    "Cc: 30 KB of 'a'": lambda: message("Dear Editor", headers=header("Cc", "a" * 30 * KB)),
    "Cc: 100 KB of 'a'": lambda: message("Dear Editor", headers=header("Cc", "a" * 100 * KB)),
    "Cc: 1 MB of 'a' folded into 990-character lines": lambda: message(
        "Dear Editor", headers=header("Cc", folded("a" * 1000 * KB))
    ),
    "Cc: 1 MB of 'a' on one line": lambda: message(
        "Dear Editor", headers=header("Cc", "a" * 1000 * KB)
    ),
    "Delivered-To: 100 KB of 'a'": lambda: message(
        "Dear Editor", headers=header("Delivered-To", "a" * 100 * KB)
    ),
    "From: 60 KB of 'a.'": lambda: message("Dear Editor", sender=b"a." * 30 * KB),
    "From: 100 KB of 'a'": lambda: message("Dear Editor", sender=b"a" * 100 * KB),
    "X-Loop: 100 KB of 'a'": lambda: message(
        "Dear Editor", headers=header("X-Loop", "a" * 100 * KB)
    ),
    "Subject: 200 KB of 'a'": lambda: message(
        "Dear Editor", headers=header("Subject", "a" * 200 * KB)
    ),
    "References: 29 MB of ids": lambda: message(
        "Dear Editor", headers=header("References", "<a@b> " * 4_800_000)
    ),
    "In-Reply-To: 29 MB of ids": lambda: message(
        "Dear Editor", headers=header("In-Reply-To", "<a@b> " * 4_800_000)
    ),
    "Content-Type: 30 KB of quoted ';'": lambda: message(
        "Dear Editor", content_type='text/plain; name="' + ";" * 30 * KB
    ),
    "Content-Type: 100 KB of quoted ';'": lambda: message(
        "Dear Editor", content_type='text/plain; name="' + ";" * 100 * KB
    ),
    "Content-Disposition: 100 KB of quoted ';'": lambda: message(
        "Dear Editor", headers=header("Content-Disposition", 'inline; filename="' + ";" * 100 * KB)
    ),
    "multipart boundary: 100 KB of quoted ';'": lambda: message(
        b"--b\r\nContent-Type: text/plain\r\n\r\nDear Editor\r\n--b--\r\n",
        content_type='multipart/mixed; boundary=b; x="' + ";" * 100 * KB,
    ),
    "99 parts, each a Content-Type of 16 KB of ';'": lambda: multipart(
        [(b"text/plain; charset=utf-8" + b";" * 16 * 1024, b"Dear Editor")] * 99
    ),
    "HTML: '<a' + 60 KB of 'b'": lambda: message("<a" + "b" * 60 * KB, content_type="text/html"),
    "HTML: '<a' + 300 KB of 'b'": lambda: message("<a" + "b" * 300_000, content_type="text/html"),
    "HTML: 300 KB of '<p>'": lambda: message("<p>" * 100_000, content_type="text/html"),
    "HTML: 300 KB of '<li>x'": lambda: message("<li>x" * 60_000, content_type="text/html"),
    "HTML: 99 parts of 300 KB": lambda: multipart(
        [(b"text/html", (ORDINARY_HTML * (300_000 // len(ORDINARY_HTML))).encode())] * 99
    ),
    "plain: 99 parts of 300 KB": lambda: multipart(
        [(b"text/plain", ("Dear Editor, the trains are late.\n" * 8_800).encode())] * 99
    ),
    "docx at the cap: one-letter paragraphs": lambda: docx(
        document_of("<w:p><w:r><w:t>&gt; a</w:t></w:r></w:p>")
    ),
    "docx at the cap: empty paragraphs": lambda: docx(document_of("<w:p/>")),
    "docx at the cap: empty runs": lambda: docx(document_of("<w:r/>")),
    "docx at the cap: runs in paragraphs": lambda: docx(document_of("<w:p><w:r/></w:p>")),
    "docx at the cap: text runs": lambda: docx(
        document_of("<w:p><w:r><w:t>" + "word " * 200 + "</w:t></w:r></w:p>")
    ),
    "docx at the cap: 98 of empty paragraphs": lambda: docx(document_of("<w:p/>"), copies=98),
    "odt at the cap: empty paragraphs": lambda: odt(odt_of("<text:p/>")),
    "odt at the cap: one-letter paragraphs": lambda: odt(odt_of("<text:p>a</text:p>")),
    ".txt of 10 MB of 0x81": lambda: with_documents(
        [b"\x81" * 10_000_000], b"text/plain", b"letter.txt"
    ),
    "plain: 4 MB of 0x81": lambda: message(b"\x81" * 4_000_000),
    "lines: 30 MB of empty lines": lambda: message(b"\r\n" * 15_000_000),
    "lines: 500,000 of 'x', ten parts deep": lambda: nested(10, b"x\r\n" * 499_900),
    "lines: 500,000 of HTML, ten parts deep": lambda: nested(
        10, b"<li>x\r\n" * 499_900, b"text/html"
    ),
    "lines: 400,000 of 'x', 99 parts deep": lambda: nested(99, b"x\r\n" * 400_000),
    "lines: 10,000,000 of 'x', 99 parts deep": lambda: nested(99, b"x\r\n" * 10_000_000),
    "'>' lines: 1 M characters of '> x'": lambda: message("Dear Editor\n" + "> x\n" * 250_000),
    "'>' lines: 499,000 of '>'": lambda: message("Dear Editor\n" + ">\n" * 499_000),
}


def cut_paragraphs(paragraph_words):
    """A 48,000-word letter in paragraphs, every other paragraph cut here and there."""
    rng = random.Random(1)
    vocabulary = ["the", "a", "letter", "editor", "trains", "late", "again", "sir", "why", "we"]
    paragraphs = [
        [rng.choice(vocabulary) for _ in range(paragraph_words)]
        for _ in range(48_000 // paragraph_words)
    ]
    original = "\n\n".join(" ".join(p) for p in paragraphs)
    edited = "\n\n".join(
        " ".join(w for i, w in enumerate(p) if i % 9 or n % 2) for n, p in enumerate(paragraphs)
    )
    return original, edited


def rewritten_paragraphs(words):
    """A letter of `words` words in 500-word paragraphs, every other one rewritten: only its
    spaces are left in common with the original."""
    rng = random.Random(2)

    def paragraphs(prefix):
        text = [f"{prefix}{rng.randrange(5_000)}" for _ in range(words)]
        return [" ".join(text[i : i + 500]) for i in range(0, words, 500)]

    original, rewritten = paragraphs("w"), paragraphs("x")
    edited = [p if n % 2 else rewritten[n] for n, p in enumerate(original)]
    return "\n\n".join(original), "\n\n".join(edited)


WORD_DIFFS = {
    **{
        f"word diff: 48,000 words, every other {n}-word paragraph cut": (cut_paragraphs, n)
        for n in (100, 300, 500, 700)
    },
    "word diff: one 500-word paragraph rewritten": (rewritten_paragraphs, 500),
    "word diff: 48,000 words, every other 500-word paragraph rewritten": (
        rewritten_paragraphs,
        48_000,
    ),
}


def run(name, runs, queue):
    if name in MESSAGES:
        raw = MESSAGES[name]()
        work, args = parse_email, (raw,)
        kwargs = {"own_addresses": OWN}
        size = f"{len(raw) / 1024:,.0f} KB"
    else:
        make, words = WORD_DIFFS[name]
        work, args, kwargs = word_diff_html, make(words), {}
        size = f"{sum(map(len, args)) / 1024:,.0f} KB"
    best = None
    for _ in range(runs):
        started = time.perf_counter()
        try:
            work(*args, **kwargs)
        except ParseError:
            pass
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
        if seconds > 5:
            break
    queue.put((size, best))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, best of {args.runs}")
    context = multiprocessing.get_context("fork")
    for name in [*MESSAGES, *WORD_DIFFS]:
        if args.only not in name:
            continue
        queue = context.Queue()
        child = context.Process(target=run, args=(name, args.runs, queue))
        child.start()
        child.join(args.timeout)
        if child.is_alive():
            child.terminate()
            child.join()
            print(f"{name:62} {'':>9}  > {args.timeout:.0f} s")
            continue
        size, seconds = queue.get()
        print(f"{name:62} {size:>9}  {seconds:7.3f} s")


if __name__ == "__main__":
    main()
