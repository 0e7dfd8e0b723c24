"""Properties of the email intake over generated malformed mail (hypothesis).

For any bytes shaped like a message (headers with broken encoded words and control
characters, multiparts with missing or mismatched boundaries and deep nesting, bogus
charsets and transfer encodings, bare CRs and LFs, NULs, or no shape at all):

- the parser raises nothing but ParseError, and reads the message in under a second, also
  when a header value is 20-200 KB long or HTML parts hold runs of 30-300 KB (a short unit
  repeated: where a pattern that backtracks costs the square of the length);
- the receive function (intake/store.py receive_email) and processing
  (intake/process.py process_inbound_email) raise nothing, leave the raw bytes stored, and
  end the message accepted, rejected or failed (with a reason).

Bounded for CI: a fixed number of examples, derandomized (the same examples every run, so a
failure is reproducible and never a fluke of one run), no example database written. The time
bound is asserted by the tests themselves rather than hypothesis's deadline, which would also
count the database work.
"""

import re
import time
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from letters.intake.decoding import address_matches
from letters.intake.mime import MailMessage, message_from_bytes
from letters.intake.parse import ParseError, parse_email
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import InboundEmail, InboundStatus, WayIn

FINAL = {InboundStatus.ACCEPTED, InboundStatus.REJECTED, InboundStatus.FAILED}
PARSE_SECONDS = 1.0
PROCESS_SECONDS = 3.0

BOUNDED = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- Generating malformed mail ------------------------------------------------------------

HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Sender",
        "Return-Path",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "Auto-Submitted",
        "Precedence",
        "List-Id",
        "X-Spam-Flag",
        "X-Spam-Status",
        "Authentication-Results",
        "Received",
    ]
) | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20)

CHARSETS = st.sampled_from(
    ["utf-8", "iso-8859-1", "windows-1252", "utf-7", "utf-16", "x-unknown", "", '"utf-8', "ascii"]
)
ENCODINGS = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "binary", "x-bogus"])
LINE_ENDS = st.sampled_from([b"\r\n", b"\n", b"\r"])

# Text as mail carries it: any characters, and the awkward ones often.
AWKWARD = st.sampled_from(list('\x00\r\n\t\u202e\u200f\ufeff<>@";') + ["=?", "?="])
MAIL_TEXT = st.lists(st.text(max_size=8) | AWKWARD, max_size=6).map("".join)

ENCODED_WORDS = st.builds(
    lambda charset, kind, payload: f"=?{charset}?{kind}?{payload}?=",
    CHARSETS,
    st.sampled_from(["q", "b", "Q", "B", "x"]),
    st.text(alphabet="abcXYZ=+/_?0123456789", max_size=16),
)


@st.composite
def header_values(draw):
    parts = draw(st.lists(MAIL_TEXT | ENCODED_WORDS, max_size=3))
    return " ".join(parts)


@st.composite
def headers(draw, extra=()):
    fields = draw(st.lists(st.tuples(HEADER_NAMES, header_values()), max_size=6))
    for field in extra:
        fields.insert(draw(st.integers(0, len(fields))), field)
    eol = draw(LINE_ENDS)
    return b"".join(
        name.encode() + b": " + value.encode("utf-8", "surrogatepass") + eol
        for name, value in fields
    )


def bodies():
    return st.binary(max_size=300) | MAIL_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))


@st.composite
def leaf(draw):
    subtype = draw(st.sampled_from(["plain", "html", "rtf", "enriched"]))
    content_type = f"text/{subtype}; charset={draw(CHARSETS)}"
    if draw(st.booleans()):
        content_type = draw(
            st.sampled_from(
                [
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "application/octet-stream",
                    "message/rfc822",
                    "message/delivery-status",
                    "text/plain; charset",
                    ";;;",
                ]
            )
        )
    head = draw(
        headers(
            extra=[
                ("Content-Type", content_type),
                ("Content-Transfer-Encoding", draw(ENCODINGS)),
            ]
        )
    )
    return head + draw(LINE_ENDS) + draw(bodies())


def multipart(children):
    @st.composite
    def build(draw):
        boundary = draw(st.text(alphabet="abc-_=.0123456789 ", min_size=0, max_size=12))
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "report", "signed"]))
        quoted = draw(st.booleans())
        declared = f'"{boundary}"' if quoted else boundary
        head = draw(headers(extra=[("Content-Type", f"multipart/{subtype}; boundary={declared}")]))
        # Sometimes the parts use another boundary than the one declared, or none closes.
        used = boundary if draw(st.booleans()) else draw(st.text(max_size=8))
        eol = draw(LINE_ENDS)
        delimiter = b"--" + used.encode("utf-8", "surrogatepass")
        parts = draw(st.lists(children, max_size=4))
        body = draw(bodies())  # the preamble
        for part in parts:
            body += eol + delimiter + eol + part
        if draw(st.booleans()):
            body += eol + delimiter + b"--" + eol
        body += draw(bodies())  # the epilogue
        return head + eol + body

    return build()


MESSAGES = st.recursive(leaf(), multipart, max_leaves=8)
# Mostly shaped like mail, sometimes any bytes at all.
RAW = st.one_of(MESSAGES, MESSAGES, MESSAGES, st.binary(max_size=2_000))


# Long runs: a short unit repeated to about the size of a cap, where a pattern that backtracks
# or a walk that starts again costs the square of the length. The units are mostly those such
# bugs feed on (the characters of an address, of a tag, quotes, separators); few examples,
# each large.
LONG = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
RISKY = st.sampled_from(
    ["a", "a.", "a@", "@", "a,", ";", '";', '"', "\\", "(", "<", ">", " ", "=?utf-8?q?", "a+b'c"]
)
UNITS = st.one_of(RISKY, RISKY, st.text(alphabet="ab.@<>,;\"'+-=?_ \\()/", min_size=1, max_size=5))
HEADER_NAMES_READ = st.sampled_from(
    ["To", "Cc", "From", "X-Loop", "Delivered-To", "Subject", "Reply-To", "References"]
    + ["In-Reply-To", "Date", "Content-Type", "Content-Disposition"]
)


def long_run(unit, length):
    return unit * max(1, length // len(unit))


@st.composite
def long_header_values(draw):
    """A message with one header value of 20-200 KB, folded or on one line."""
    name = draw(HEADER_NAMES_READ)
    value = draw(MAIL_TEXT) + long_run(draw(UNITS), draw(st.integers(20_000, 200_000)))
    if name in ("Content-Type", "Content-Disposition"):
        value = "text/plain; name=" + value
    if draw(st.booleans()):
        value = "\r\n ".join(value[i : i + 990] for i in range(0, len(value), 990))
    head = {"From": "Ann Reader <ann@example.org>", "To": "letters@reaction.life"}
    head[name] = value
    return (
        "".join(f"{key}: {text}\r\n" for key, text in head.items()) + "\r\nDear Editor\r\n"
    ).encode("utf-8", "surrogatepass")


@st.composite
def long_html_runs(draw):
    """A message of one to three HTML parts, each a run of 30-300 KB after an opening."""
    opening = draw(st.sampled_from(["<a", "<", "</", "<p>", "<div>", "<!--", "<script>", "&", ""]))
    parts = [
        opening + long_run(draw(UNITS), draw(st.integers(30_000, 300_000)))
        for _ in range(draw(st.integers(1, 3)))
    ]
    body = "".join(f"--b\r\nContent-Type: text/html\r\n\r\n{part}\r\n" for part in parts)
    return (
        "From: Ann Reader <ann@example.org>\r\nTo: letters@reaction.life\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n' + body + "--b--\r\n"
    ).encode("utf-8", "surrogatepass")


def seconds_to_parse(raw):
    started = time.perf_counter()
    try:
        parse_email(raw, own_addresses=["letters@reaction.life"])  # X-Loop is read too
    except ParseError:
        pass
    return time.perf_counter() - started


# --- The properties ------------------------------------------------------------------------


@BOUNDED
@given(raw=RAW)
def test_the_parser_raises_only_parse_error_and_reads_any_message_in_under_a_second(raw):
    started = time.perf_counter()
    try:
        parse_email(raw)
    except ParseError:
        pass
    seconds = time.perf_counter() - started
    assert seconds < PARSE_SECONDS, f"{seconds:.2f} s to parse"


@LONG
@given(raw=long_header_values())
def test_a_header_value_of_up_to_200_kb_is_read_in_under_a_second(raw):
    seconds = seconds_to_parse(raw)
    assert seconds < PARSE_SECONDS, f"{seconds:.2f} s to parse"


@LONG
@given(raw=long_html_runs())
def test_html_parts_of_long_runs_are_read_in_under_a_second(raw):
    seconds = seconds_to_parse(raw)
    assert seconds < PARSE_SECONDS, f"{seconds:.2f} s to parse"


@pytest.mark.django_db
@BOUNDED
@given(
    raw=RAW,
    envelope_from=st.one_of(st.just(""), st.just("<>"), MAIL_TEXT),
    envelope_to=st.lists(MAIL_TEXT, max_size=3),
)
def test_any_message_is_stored_raw_and_ends_in_a_final_state_without_raising(
    raw, envelope_from, envelope_to
):
    # Each example in a savepoint rolled back at its end: examples do not see each other's
    # rows (the same generated Message-ID would otherwise count as a redelivery).
    with transaction.atomic():
        row, created = receive_email(
            raw, way_in=WayIn.PIPE, envelope_from=envelope_from, envelope_to=envelope_to
        )
        assert created
        started = time.perf_counter()
        process_inbound_email(row.pk, acknowledge=False)
        seconds = time.perf_counter() - started
        row = InboundEmail.objects.get(pk=row.pk)
        assert row.raw_bytes == raw
        assert row.status in FINAL, (row.status, row.reason)
        assert row.status == InboundStatus.ACCEPTED or row.reason
        assert seconds < PROCESS_SECONDS, f"{seconds:.2f} s to process"
        transaction.set_rollback(True)


def structure(message):
    """What a parser made of a message: each part's headers, payload and defects."""
    payload = message.get_payload()
    return (
        list(message.raw_items()),
        message.get_default_type(),
        [structure(part) for part in payload] if message.is_multipart() else payload,
        message.preamble,
        message.epilogue,
        [type(defect) for defect in message.defects],
    )


@BOUNDED
@given(raw=RAW)
def test_the_bounded_parser_reads_a_message_as_the_stdlib_parser_reads_it(raw):
    def bounded(raw):
        return message_from_bytes(raw, max_depth=1_000)  # deeper than any generated

    assert structure(bounded(raw)) == structure(BytesParser(policy=compat32).parsebytes(raw))


# The address pattern as it was before its search was made linear.
PLAIN_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


ADDRESSY = st.lists(
    st.sampled_from(["a", "b1", "_é", ".", "+", "'", "-", "@", " ", ",", "<", ">", "a@b.c", "x.y"]),
    max_size=20,
).map("".join)


@settings(max_examples=500, derandomize=True, database=None, deadline=None)
@given(text=ADDRESSY)
@example("a@b.c+d@e.f")  # the second starts where the first ended, inside a run
def test_the_linear_address_search_finds_what_the_plain_pattern_finds(text):
    found = [m.span() for m in address_matches(text)]
    assert found == [m.span() for m in PLAIN_ADDRESS.finditer(text)]


def parameters_read_by(message_class, value):
    message = message_class()
    message["Content-Type"] = value
    try:
        return message.get_params()
    except Exception as exc:  # noqa: BLE001 - the stdlib's own errors are part of its reading
        return type(exc)


@settings(max_examples=500, derandomize=True, database=None, deadline=None)
@given(value=st.text(alphabet='text/plain;"\\= *0%', max_size=40))
@example('a; b="x;y\\";z"; c')  # an escaped quote inside quotes does not close them
def test_header_parameters_are_read_as_the_stdlib_reads_them(value):
    assert parameters_read_by(MailMessage, value) == parameters_read_by(Message, value)


def test_the_generated_mail_is_as_malformed_as_it_claims():
    """The strategies above reach the shapes they are meant to: checked on a fixed sample."""
    sample = []

    @settings(max_examples=60, derandomize=True, database=None, deadline=None)
    @given(raw=MESSAGES)
    def collect(raw):
        sample.append(raw)

    collect()
    joined = b"\n".join(sample)
    assert any(b"multipart/" in raw for raw in sample)
    assert any(raw.count(b"multipart/") >= 2 for raw in sample)  # nested
    assert b"\x00" in joined
    assert b"=?" in joined
    assert "\u202e".encode() in joined
    assert b"base64" in joined and b"x-bogus" in joined
