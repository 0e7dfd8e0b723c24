"""Generate a realistic, deterministic mbox of letters to the editor.

    python bench/make_mbox.py --count 5000 --out /tmp/letters.mbox --slugs slug1,slug2

Mix (approximate): plain text in utf-8 / iso-8859-1 / mislabelled windows-1252 /
quoted-printable / base64, HTML-only, multipart/alternative, some .docx and .pdf
attachments, replies quoting the newsletter, letters+<slug>@ addresses, article
URLs, and ~3% auto-replies and bounces.  2-4 Received headers each.
"""

from __future__ import annotations

import argparse
import base64
import io
import quopri
import random
import zipfile
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

DOMAIN = "reaction.life"
DEFAULT_SLUGS = [
    "the-case-for-a-four-day-week",
    "rewilding-the-north-pennines",
    "why-local-newspapers-still-matter",
    "the-trouble-with-smart-motorways",
    "a-defence-of-the-village-pub",
]
FIRST = [
    "Jane",
    "John",
    "Margaret",
    "David",
    "Sarah",
    "Peter",
    "Zoë",
    "Siân",
    "Eamonn",
    "Chloé",
    "Ahmed",
    "Priya",
    "Hélène",
    "Bob",
    "Ruth",
]
LAST = [
    "Smith",
    "Jones",
    "O'Brien",
    "Williams",
    "Brown",
    "Taylor",
    "Müller",
    "Nguyen",
    "Patel",
    "Fenwick",
    "Ó",
    "Súilleabháin",
]
LAST = [*LAST[:-2], "Ó Súilleabháin", "Dunmore-Price", "Hart"]
TOWNS = [
    "Hexham, Northumberland",
    "Bath",
    "Stroud, Gloucestershire",
    "Leeds",
    "Ludlow, Shropshire",
    "Edinburgh",
    "Cardiff",
    "Tunbridge Wells",
    "Norwich",
    "Stratford-upon-Avon",
]
SENTENCES = [
    "Your article on {topic} was the most sensible thing I have read on the subject in years.",
    "I must take issue with the claim that {topic} is a problem only for the young.",
    "As a retired teacher I have watched the debate about {topic} for four decades.",
    "The figures quoted are misleading: the “average” hides enormous regional variation.",
    "Nobody in Westminster seems to have asked what people in small towns actually want.",
    "My late father would have said that common sense is the rarest commodity of all.",
    "It is a pity that the piece did not mention the cost to local councils – it is not trivial.",
    "Surely the answer is to trust people to make their own decisions?",
    "I was delighted to see someone finally say it plainly.",
    "When I moved here in 1987 there were three bus routes; now there is one, twice a day.",
    "Perhaps your correspondent could explain how this would work outside London.",
    "We tried something similar in our parish and it was a qualified success.",
    "I write as someone who has been a subscriber since the very first issue.",
    "The café on our high street closed last month, and nobody in authority noticed.",
]
TOPICS = [
    "the four-day week",
    "rewilding",
    "local newspapers",
    "smart motorways",
    "the village pub",
    "rural buses",
]


def make_docx(paragraphs: list[str]) -> bytes:
    """A minimal but valid .docx (what Word needs to open it)."""
    from xml.sax.saxutils import escape

    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}<w:sectPr/></w:body></w:document>"
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", rels),
            ("word/document.xml", document),
        ):
            zi = zipfile.ZipInfo(name, date_time=(2025, 3, 1, 12, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    return buf.getvalue()


def make_odt(paragraphs: list[str]) -> bytes:
    """A minimal but valid .odt (mimetype first and stored, then content.xml)."""
    from xml.sax.saxutils import escape

    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.3"><manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zi = zipfile.ZipInfo("mimetype", date_time=(2025, 3, 1, 12, 0, 0))
        zf.writestr(zi, "application/vnd.oasis.opendocument.text")
        for name, data in (
            ("content.xml", content),
            ("META-INF/manifest.xml", manifest),
        ):
            zi = zipfile.ZipInfo(name, date_time=(2025, 3, 1, 12, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    return buf.getvalue()


def make_pdf(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
        b"4 0 obj<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream\n"
        b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


class Generator:
    def __init__(self, seed: int, slugs: list[str]):
        self.r = random.Random(seed)
        self.slugs = slugs
        self.t0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

    def headline(self, slug: str) -> str:
        return slug.replace("-", " ").capitalize()

    def received(self, n: int, when: datetime) -> list[str]:
        r = self.r
        hops = [
            (
                f"from mx{r.randint(1, 9)}.mail.{DOMAIN} (mx{r.randint(1, 9)}.mail.{DOMAIN} "
                f"[10.0.{r.randint(0, 255)}.{r.randint(1, 254)}])\r\n\tby inbound.{DOMAIN} (Postfix)"
                f" with ESMTPS id {r.getrandbits(40):X}\r\n\tfor <letters@{DOMAIN}>; "
            ),
            (
                f"from mail-wr1-f{r.randint(40, 80)}.google.com (mail-wr1-f{r.randint(40, 80)}"
                f".google.com [209.85.221.{r.randint(1, 254)}])\r\n\tby mx.{DOMAIN} (Postfix) with "
                f"ESMTPS id {r.getrandbits(40):X}; "
            ),
            (
                f"by 2002:a05:6000:{r.getrandbits(16):x}:b0:{r.getrandbits(12):x}:{r.getrandbits(16):x}"
                f" with SMTP id x{r.getrandbits(30)}csp{r.randint(100, 999)}; "
            ),
            (
                f"from [192.168.1.{r.randint(2, 250)}] (host-{r.randint(1, 250)}.broadband.example.net"
                f" [81.{r.randint(1, 250)}.{r.randint(1, 250)}.{r.randint(1, 250)}])\r\n\tby smtp."
                f"example.net with ESMTPSA; "
            ),
        ]
        return [
            hops[i % len(hops)] + format_datetime(when - timedelta(seconds=5 * i)) for i in range(n)
        ]

    def letter(self, slug: str) -> list[str]:
        r = self.r
        topic = r.choice(TOPICS)
        paras = []
        for _ in range(r.randint(1, 4)):
            paras.append(
                " ".join(r.choice(SENTENCES).format(topic=topic) for _ in range(r.randint(2, 5)))
            )
        if r.random() < 0.25:
            paras.append(f"See https://{DOMAIN}/articles/{slug}/ for the piece in question.")
        return paras

    def message(self, i: int) -> bytes:
        r = self.r
        slug = r.choice(self.slugs)
        when = self.t0 + timedelta(minutes=7 * i + r.randint(0, 6))
        first, last = r.choice(FIRST), r.choice(LAST)
        town = r.choice(TOWNS)
        addr = (
            f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}{i}@example.org"
        )
        addr = addr.encode("ascii", "ignore").decode()
        to = f"letters+{slug}@{DOMAIN}" if r.random() < 0.15 else f"letters@{DOMAIN}"
        paras = self.letter(slug)
        signoff = [f"{first} {last}", town] if r.random() < 0.7 else [f"{first} {last}"]
        reply = r.random() < 0.2
        roll = r.random()
        headers = [
            ("Return-Path", f"<{addr}>"),
            *(("Received", h) for h in self.received(r.randint(2, 4), when)),
            ("From", self.from_header(first, last, addr)),
            ("To", to),
            ("Subject", self.subject(slug, reply)),
            ("Date", format_datetime(when)),
            ("Message-ID", f"<{r.getrandbits(64):016x}.{i}@mail.example.org>"),
            ("MIME-Version", "1.0"),
        ]
        if reply:
            headers.append(("In-Reply-To", f"<newsletter-{slug}@{DOMAIN}>"))
        if roll < 0.015:
            return self.auto_reply(headers, first)
        if roll < 0.03:
            return self.bounce(i, when, slug)
        text = "\n\n".join(["Dear Editor,", *paras, "Yours faithfully,", "\n".join(signoff)])
        if reply:
            text += (
                f"\n\nOn {format_datetime(when - timedelta(days=1))}, Reaction <letters@{DOMAIN}> "
                "wrote:\n> This week: "
                + self.headline(slug)
                + "\n>\n> Our writers argue that the old certainties no longer hold.\n"
                "> Read more at https://" + DOMAIN + "/articles/" + slug + "/\n"
            )
        kind = r.random()
        if kind < 0.22:
            return self.plain(headers, text, "utf-8", "8bit")
        if kind < 0.32:
            return self.plain(headers, text, "utf-8", "quoted-printable")
        if kind < 0.40:
            return self.plain(headers, text, "iso-8859-1", "8bit")
        if kind < 0.46:
            return self.plain(headers, text, "windows-1252-mislabelled", "8bit")
        if kind < 0.52:
            return self.plain(headers, text, "utf-8", "base64")
        if kind < 0.64:
            return self.html_only(headers, text)
        if kind < 0.91:
            return self.alternative(headers, text)
        if kind < 0.955:
            return self.with_attachment(headers, text, "docx")
        return self.with_attachment(headers, text, "pdf")

    def from_header(self, first: str, last: str, addr: str) -> str:
        name = f"{first} {last}"
        if name.isascii():
            return f"{name} <{addr}>" if "'" not in name else f'"{name}" <{addr}>'
        enc = base64.b64encode(name.encode()).decode()
        return f"=?UTF-8?B?{enc}?= <{addr}>"

    def subject(self, slug: str, reply: bool) -> str:
        h = self.headline(slug)
        return (
            self.r.choice([f"Re: {h}", f"Letter: {h}", "Your article", h, "A letter"])
            if not reply
            else f"Re: {h}"
        )

    @staticmethod
    def render(headers: list[tuple[str, str]], body: bytes) -> bytes:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8")
        return head + b"\r\n" + body

    def encode_text(self, text: str, charset: str, cte: str) -> tuple[str, bytes]:
        if charset == "windows-1252-mislabelled":
            data = text.encode("cp1252", "replace")
            label = self.r.choice(["iso-8859-1", "us-ascii"])
        elif charset == "iso-8859-1":
            data = (
                text.replace("“", '"')
                .replace("”", '"')
                .replace("–", "-")
                .encode("latin-1", "replace")
            )
            label = charset
        else:
            data = text.encode(charset)
            label = charset
        data = data.replace(b"\n", b"\r\n")
        if cte == "quoted-printable":
            data = quopri.encodestring(data)
        elif cte == "base64":
            data = b64(data)
        return label, data

    def plain(self, headers, text: str, charset: str, cte: str) -> bytes:
        label, data = self.encode_text(text, charset, cte)
        h = [
            *headers,
            ("Content-Type", f"text/plain; charset={label}"),
            ("Content-Transfer-Encoding", cte),
        ]
        return self.render(h, data)

    def html_of(self, text: str) -> str:
        out = []
        for para in text.split("\n\n"):
            if para.startswith("On ") and "wrote:" in para:
                q = para.split("\n", 1)
                quoted = q[1].replace("> ", "").replace(">", "") if len(q) > 1 else ""
                out.append(
                    f'<div class="gmail_quote"><div class="gmail_attr">{q[0]}</div>'
                    f"<blockquote>{quoted.replace(chr(10), '<br>')}</blockquote></div>"
                )
            else:
                esc = para.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                out.append(f"<p>{esc.replace(chr(10), '<br>')}</p>")
        return (
            '<html><head><meta charset="utf-8"><style>p{margin:0}</style></head><body>'
            + "\n".join(out)
            + "</body></html>"
        )

    def html_only(self, headers, text: str) -> bytes:
        data = quopri.encodestring(self.html_of(text).encode("utf-8"))
        h = [
            *headers,
            ("Content-Type", "text/html; charset=UTF-8"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ]
        return self.render(h, data)

    def alternative(self, headers, text: str) -> bytes:
        b = f"000000000000{self.r.getrandbits(48):012x}"
        plain = quopri.encodestring(text.replace("\n", "\r\n").encode("utf-8"))
        html = quopri.encodestring(self.html_of(text).encode("utf-8"))
        body = (
            f'--{b}\r\nContent-Type: text/plain; charset="UTF-8"\r\n'
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
            + plain
            + f'\r\n--{b}\r\nContent-Type: text/html; charset="UTF-8"\r\n'
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
            + html
            + f"\r\n--{b}--\r\n".encode()
        )
        h = [*headers, ("Content-Type", f'multipart/alternative; boundary="{b}"')]
        return self.render(h, body)

    def with_attachment(self, headers, text: str, kind: str) -> bytes:
        b = f"----=_Part_{self.r.getrandbits(32)}"
        if kind == "docx":
            blob = make_docx(text.split("\n\n"))
            note = "Please find my letter attached.\r\n"
            ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            name = "Letter to the editor.docx"
        else:
            blob = make_pdf("Supporting figures")
            note = text.replace("\n", "\r\n") + "\r\n\r\nI attach the council's figures.\r\n"
            ctype = "application/pdf"
            name = "figures.pdf"
        body = (
            (
                f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
                f'\r\n\r\n{note}\r\n--{b}\r\nContent-Type: {ctype}; name="{name}"\r\n'
                f'Content-Disposition: attachment; filename="{name}"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
            + b64(blob).replace(b"\n", b"\r\n")
            + f"--{b}--\r\n".encode()
        )
        h = [*headers, ("Content-Type", f'multipart/mixed; boundary="{b}"')]
        return self.render(h, body)

    def auto_reply(self, headers, first: str) -> bytes:
        h = [(k, v) for k, v in headers if k not in ("Subject",)]
        h += [
            ("Subject", "Automatic reply: Your letter"),
            ("Auto-Submitted", "auto-replied"),
            ("X-Autoreply", "yes"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        return self.render(h, f"I am out of the office until Monday. {first}\r\n".encode())

    def bounce(self, i: int, when: datetime, slug: str) -> bytes:
        b = f"{self.r.getrandbits(40):X}.{i}/mx.example.org"
        h = [
            ("Return-Path", "<>"),
            *(("Received", x) for x in self.received(2, when)),
            ("From", "Mail Delivery System <MAILER-DAEMON@mx.example.org>"),
            ("To", f"letters@{DOMAIN}"),
            ("Subject", "Undelivered Mail Returned to Sender"),
            ("Date", format_datetime(when)),
            ("Message-ID", f"<bounce.{i}@mx.example.org>"),
            ("Auto-Submitted", "auto-replied"),
            ("MIME-Version", "1.0"),
            (
                "Content-Type",
                f'multipart/report; report-type=delivery-status; boundary="{b}"',
            ),
        ]
        body = (
            f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            "This is the mail system at host mx.example.org.\r\n\r\n"
            "I'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients.\r\n\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; nobody@example.org\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\n\r\n"
            f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n"
            f"From: letters@{DOMAIN}\r\nTo: nobody@example.org\r\nSubject: Your letter\r\n\r\n"
            f"Thank you for your letter about {slug}.\r\n\r\n--{b}--\r\n"
        )
        return self.render(h, body.encode())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--out", default="/tmp/letters.mbox")
    ap.add_argument(
        "--slugs", default=",".join(DEFAULT_SLUGS), help="comma-separated article slugs"
    )
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    slugs = [s.strip() for s in args.slugs.split(",") if s.strip()]
    gen = Generator(args.seed, slugs)
    with open(args.out, "wb") as fh:
        for i in range(args.count):
            raw = gen.message(i)
            # mboxo: escape body lines starting with "From " (and ">From ")
            lines = raw.split(b"\n")
            lines = [b">" + ln if ln.lstrip(b">").startswith(b"From ") else ln for ln in lines]
            fh.write(
                b"From letters-bench " + gen.t0.strftime("%a %b %d %H:%M:%S %Y").encode() + b"\n"
            )
            fh.write(b"\n".join(lines).replace(b"\r\n", b"\n"))
            if not raw.endswith(b"\n"):
                fh.write(b"\n")
            fh.write(b"\n")
    print(f"wrote {args.count} messages to {args.out}")


if __name__ == "__main__":
    main()
