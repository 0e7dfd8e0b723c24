"""Hostile mail against the parser: every worst case we know is read in well under a second.

Each payload once took seconds to minutes (a pattern that backtracks, a walk that copies a
slice per line, nh3 on deep nesting, a quadratic walk of nested Word paragraphs) or unbounded
memory (a document that inflates without limit). Timings are one run each on a shared
machine, so the bound is generous; the payloads are sized so the old code took far longer.
"""

import base64
import io
import time
import tracemalloc
import zipfile

import pytest

from letters.intake import attachments, parse
from letters.intake.decoding import MAX_ADDRESS_CHARS, address_matches, addresses
from letters.intake.identify import identify, references_of
from letters.intake.match import strip_subject_prefixes
from letters.intake.mime import MAX_LINES, line_count
from letters.intake.parse import MAX_TEXT_CHARS, ParseError, decode_bytes, parse_email
from letters.intake.plain_text import MAX_HTML_CHARS, MAX_HTML_TAGS, html_to_text, strip_quotes
from letters.intake.signoff import extract_signoff

SECOND = 1.0
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


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


def multipart(parts):
    body = b"".join(
        b"--b\r\nContent-Type: " + ctype + b"; charset=utf-8\r\n\r\n" + data + b"\r\n"
        for ctype, data in parts
    )
    return message(body + b"--b--\r\n", content_type='multipart/mixed; boundary="b"')


def nested(depth, body, content_type=b"text/plain"):
    """A message whose one text part is `depth` multiparts deep."""
    head = tail = b""
    for d in range(depth):
        head += f'Content-Type: multipart/mixed; boundary="b{d}"\r\n\r\n--b{d}\r\n'.encode()
        tail = f"\r\n--b{d}--\r\n".encode() + tail
    return (
        b"From: Ann Reader <ann@example.org>\r\nTo: letters@reaction.life\r\nSubject: Deep\r\n"
        b"MIME-Version: 1.0\r\n"
        + head
        + b"Content-Type: "
        + content_type
        + b"\r\n\r\n"
        + body
        + tail
    )


def header(name, value):
    return f"{name}: {value}\r\n".encode()


def document(xml, *, name="word/document.xml"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, xml)
    return buffer.getvalue()


def with_docx(*documents, kind=b"docx"):
    attached = (
        b"application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="letter.' + kind + b'"'
    )
    return multipart(
        [(b"text/plain", b"")] + [(attached, base64.encodebytes(data)) for data in documents]
    )


def at_the_cap(paragraph):
    """A Word document's XML as large as the cap lets through: `paragraph` again and again."""
    head = f'<w:document xmlns:w="{W}"><w:body>'
    tail = "</w:body></w:document>"
    return (
        head + paragraph * ((attachments._MAX_XML - len(head) - len(tail)) // len(paragraph)) + tail
    )


def understated(archive, size):
    """The zip with its one member's inflated size declared as `size`: in its local header
    (the zip starts with it) and in its central directory entry."""
    data = bytearray(archive)
    data[22:26] = size.to_bytes(4, "little")
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    return bytes(data)


def timed(work, *args):
    started = time.perf_counter()
    try:
        result = work(*args)
    except ParseError as exc:
        result = exc
    return result, time.perf_counter() - started


def parse_email_to_the_desk(raw):
    """parse_email as the desk calls it: with its own address, so X-Loop is read too."""
    return parse_email(raw, own_addresses=["letters@reaction.life"])


ORDINARY_HTML = b"<p>Dear Editor, the trains to Hexham are <b>late</b> again.</p>\n"
SIGNED = "Dear Editor, the trains are late.\n\nAnn Smith\n"

PAYLOADS = {
    # A sign-off line of spaces (three \s* in a row in the phone pattern: minutes at 2 KB).
    "spaces in a sign-off line": lambda: message(SIGNED + "Tel" + " " * 20_000 + "x"),
    # "e-mail: a@a.a@a...": the e-mail-like pattern backtracks on every "@" and ".".
    "an e-mail-like sign-off": lambda: message(SIGNED + "e-mail: " + "a@a." * 5_000 + " x"),
    # Thousands of "On ... wrote:" attributions: a slice of the rest copied for each.
    "attributions on every line": lambda: message(
        "Dear Editor\n" + "On Monday Ann wrote:\n> x\ntext\n" * 20_000
    ),
    "deeply nested HTML": lambda: message("<div>" * 100_000 + "hi", content_type="text/html"),
    "a flood of unclosed scripts": lambda: message("<script>" * 100_000, content_type="text/html"),
    "25 MB of short lines": lambda: message("Dear Editor, the trains are late.\n" * 700_000),
    "a 1 MB single line": lambda: message("word " * 200_000),
    "10,000 header lines": lambda: message("Dear Editor", headers=b"X-Spam: yes\r\n" * 10_000),
    "nested Word paragraphs": lambda: with_docx(
        document(f'<w:document xmlns:w="{W}"><w:body>' + "<w:p>" * 20_000 + "<w:t>hi</w:t>")
    ),
    # Header values with no "@": the stdlib finds no address, and the address pattern used to
    # be tried at every character of the run, each time to its end (100 KB: 13-16 s).
    "a 100 KB To without an @": lambda: message("Dear Editor", headers=header("To", "a" * 100_000)),
    "a 100 KB Cc without an @": lambda: message("Dear Editor", headers=header("Cc", "a" * 100_000)),
    "a 1 MB Cc on one line": lambda: message("Dear Editor", headers=header("Cc", "a" * 1_000_000)),
    "a 1 MB Cc of '@'": lambda: message("Dear Editor", headers=header("Cc", "@" * 1_000_000)),
    "a 1 MB Cc of addresses": lambda: message(
        "Dear Editor", headers=header("Cc", "reader@example.org, " * 50_000)
    ),
    "a 100 KB Delivered-To without an @": lambda: message(
        "Dear Editor", headers=header("Delivered-To", "a" * 100_000)
    ),
    "a 100 KB From of 'a.'": lambda: message("Dear Editor", sender=b"a." * 50_000),
    "a 100 KB X-Loop without an @": lambda: message(
        "Dear Editor", headers=header("X-Loop", "a" * 100_000)
    ),
    # Lines: the stdlib's parser takes a step a line for each multipart the line is in, and
    # read the message whole before its depth was checked (30 MB of empty lines: 5.2 s; 400,000
    # lines 99 parts deep: 1.4 s; 10,000,000 of them: over half a minute).
    "30 MB of empty lines": lambda: message(b"\r\n" * 15_000_000),
    "400,000 lines 99 parts deep": lambda: nested(99, b"x\r\n" * 400_000),
    "10,000,000 lines 99 parts deep": lambda: nested(99, b"x\r\n" * 10_000_000),
    "500,000 lines ten parts deep": lambda: nested(10, b"x\r\n" * 499_900),
    "499,000 '>' lines": lambda: message("Dear Editor\n" + ">\n" * 499_000),
    # Id headers of millions of ids, each read whole (29 MB of References: 2.2 s).
    "29 MB of References": lambda: message(
        "Dear Editor", headers=header("References", "<a@b> " * 4_800_000)
    ),
    "29 MB of In-Reply-To": lambda: message(
        "Dear Editor", headers=header("In-Reply-To", "<a@b> " * 4_800_000)
    ),
    # Quoted semicolons in a header's parameters: the stdlib counted the quotes from the
    # parameter's start again at each one (100 KB: 5-10 s), and read every parameter of every
    # part several times (99 parts of 16 KB of semicolons: 9.9 s).
    "a Content-Type of 100 KB of quoted semicolons": lambda: message(
        "Dear Editor", content_type='text/plain; name="' + ";" * 100_000
    ),
    "a Content-Disposition of 100 KB of quoted semicolons": lambda: message(
        "Dear Editor", headers=header("Content-Disposition", 'inline; filename="' + ";" * 100_000)
    ),
    "a multipart boundary of 100 KB of quoted semicolons": lambda: message(
        b"--b\r\nContent-Type: text/plain\r\n\r\nDear Editor\r\n--b--\r\n",
        content_type='multipart/mixed; boundary=b; x="' + ";" * 100_000,
    ),
    "99 parts with 16 KB of semicolons in their Content-Type": lambda: multipart(
        [(b"text/plain" + b";" * 16_384, b"Dear Editor")] * 99
    ),
    # A tag that no ">" closes: its name and its attributes traded characters, the square of
    # its length (300 KB, the HTML cap: minutes).
    "a tag of 300 KB that never closes": lambda: message(
        "<a" + "b" * 300_000, content_type="text/html"
    ),
    # Documents at the cap on their inflated XML: a million tiny elements once took 1.0-1.5 s
    # (8 MB), and every document of a message was opened until one had text (98: minutes).
    "a .docx of one-letter paragraphs at the cap": lambda: with_docx(
        document(at_the_cap("<w:p><w:r><w:t>&gt; a</w:t></w:r></w:p>"))
    ),
    "a .docx of empty paragraphs at the cap": lambda: with_docx(document(at_the_cap("<w:p/>"))),
    "98 .docx of empty paragraphs at the cap": lambda: with_docx(
        *[document(at_the_cap("<w:p/>"))] * 98
    ),
    "an .odt of one-letter paragraphs at the cap": lambda: with_docx(
        document(
            f'<office:document-content xmlns:office="{OFFICE}" xmlns:text="{TEXT}">'
            + "<text:p>a</text:p>" * (attachments._MAX_XML // 20)
            + "</office:document-content>",
            name="content.xml",
        ),
        kind=b"odt",
    ),
    # Quote lines: each is a step of the quote stripping (a million characters once: 0.6 s).
    "a million '>' lines": lambda: message("Dear Editor\n" + ">\n" * 1_000_000),
    # Bytes windows-1252 leaves undefined: each was a call into Python (10 MB: 2.9 s).
    "a 10 MB .txt of undefined windows-1252 bytes": lambda: with_docx(
        b"\x81" * 10_000_000, kind=b"txt"
    ),
    "4 MB of undefined windows-1252 bytes": lambda: message(b"\x81" * 4_000_000),
    # Tags: the stdlib's HTML parser takes about two microseconds each (300 KB of "<p>":
    # 0.38 s); at the line cap, ten parts deep, the MIME parser adds 0.3 s to that.
    "300 KB of '<p>'": lambda: message("<p>" * 100_000, content_type="text/html"),
    "500,000 lines of HTML ten parts deep": lambda: nested(10, b"<p>\r\n" * 499_900, b"text/html"),
    # The HTML cap was a part's: 99 parts at the cap were each converted (6.7 s).
    "99 HTML parts of 300 KB": lambda: multipart(
        [(b"text/html", ORDINARY_HTML * (300_000 // len(ORDINARY_HTML)))] * 99
    ),
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_a_hostile_message_is_parsed_or_refused_in_under_a_second(name):
    raw = PAYLOADS[name]()
    _, seconds = timed(parse_email_to_the_desk, raw)
    assert seconds < SECOND, f"{name}: {seconds:.2f} s"


def test_a_long_run_of_spaces_after_re_in_a_subject_is_read_quickly():
    result, seconds = timed(strip_subject_prefixes, "Re" + " " * 50_000 + "Trains")
    assert seconds < 0.1
    assert result == "Re"  # cut at RFC 5322's 998 characters, then spaces folded
    assert strip_subject_prefixes("Re:" + " " * 500 + "Trains") == "Trains"


def test_an_address_search_through_a_megabyte_without_an_at_takes_linear_time():
    text = "a" * 1_000_000 + " ann@example.org " + "b." * 500_000
    found, seconds = timed(lambda: [m.group(0) for m in address_matches(text)])
    assert found == ["ann@example.org"]
    assert seconds < 0.1  # the plain pattern: more than a minute


def test_addresses_are_read_up_to_the_cap_and_an_address_cut_by_it_is_dropped():
    cc = ", ".join(f"reader{i}@example.org" for i in range(2_000))
    found = addresses([cc])
    assert found[0] == "reader0@example.org"
    assert 0 < len(found) < 2_000
    assert sum(len(a) + 2 for a in found) <= MAX_ADDRESS_CHARS
    assert all(a == f"reader{i}@example.org" for i, a in enumerate(found))


def test_a_looping_message_is_still_found_after_a_long_x_loop():
    raw = message("Dear Editor", headers=header("X-Loop", "a" * 1_000 + " letters@reaction.life"))
    assert parse_email_to_the_desk(raw).auto_reason == "loop"


def test_lines_are_counted_as_the_parser_splits_them():
    assert line_count(b"a\r\nb\rc\nd") == 3
    assert line_count(b"\n\r") == line_count(b"\r\r") == 2
    assert line_count(b"\r\n\r\n") == 2


def test_a_message_of_more_lines_than_the_cap_is_refused_before_it_is_parsed():
    with pytest.raises(ParseError, match="too many lines"):
        parse_email(message("Dear Editor\n" * MAX_LINES))
    assert parse_email(message("Dear Editor\n" * (MAX_LINES - 20))).body.startswith("Dear")


def test_a_part_nested_too_deep_is_refused_as_it_begins():
    result, seconds = timed(parse_email, nested(99, b"x\r\n" * 400_000))
    assert isinstance(result, ParseError)
    assert result.reason == "nesting too deep (more than 10 levels)"
    assert seconds < 0.1
    assert parse_email(nested(9, b"Dear Editor")).body == "Dear Editor"


def test_the_nearest_references_are_read_and_the_message_named_in_under_a_second():
    ids = "<first@example.org> " + "<a@b> " * 2_400_000 + "<last@example.org>"  # 14 MB
    raw = message("Dear Editor", headers=header("Message-ID", ids) + header("References", ids))
    parsed = parse_email(raw)
    assert parsed.references[-1] == "last@example.org"
    assert "first@example.org" not in parsed.references
    named, seconds = timed(identify, raw)  # 1.2 s when each id was read
    assert named.message_id == "hostile@example.org"  # the first Message-ID header
    assert seconds < SECOND
    assert references_of(raw)[-1] == "last@example.org"


def test_a_charset_is_still_read_beside_100_kb_of_quoted_semicolons():
    content_type = 'text/plain; charset=iso-8859-1; x="' + ";" * 100_000
    parsed, seconds = timed(parse_email, message(b"Caf\xe9 society", content_type=content_type))
    assert parsed.body == "Café society"
    assert seconds < 0.1


def test_the_sign_off_is_still_found_beside_a_hostile_line():
    body, signoff = extract_signoff(
        "Dear Editor, trains.\n\n" + "x " * 5_000 + "\n\nAnn Smith\nHexham"
    )
    assert (signoff.name, signoff.town) == ("Ann Smith", "Hexham")
    assert body.startswith("Dear Editor")


def test_quotes_under_each_attribution_are_still_removed():
    text, _ = strip_quotes("My reply.\n\nOn Monday Ann wrote:\n> hers\n\nMore of mine.\n" * 3)
    assert "hers" not in text
    assert text.count("More of mine.") == 3


def test_html_nested_too_deep_keeps_its_words_and_drops_its_scripts():
    text, _ = html_to_text("<div>" * 5_000 + "Dear Editor<script>alert(1)</script> the trains")
    assert " ".join(text.split()) == "Dear Editor the trains"


def test_a_tag_that_never_closes_is_read_in_linear_time():
    (text, _), seconds = timed(html_to_text, "<a" + "b" * 300_000 + " Dear Editor")
    assert seconds < 0.1
    assert text == ""  # all of it is inside the tag


def test_html_with_more_tags_than_the_cap_keeps_its_words_in_little_time():
    (text, _), seconds = timed(html_to_text, "<p>word</p>" * (MAX_HTML_TAGS // 2 + 1))
    assert text.split() == ["word"] * (MAX_HTML_TAGS // 2 + 1)
    assert "\n" not in text.strip()  # its tags dropped, paragraphs with them
    assert seconds < 0.1
    assert "word\n\n" in html_to_text("<p>word</p>" * (MAX_HTML_TAGS // 2))[0]  # under the cap


def test_the_html_cap_is_shared_by_all_the_parts_of_a_message():
    filler = b"<span></span>" * 9_000
    raw = multipart(
        [(b"text/html", filler + b"<p>%s</p>" % word) for word in (b"first", b"second", b"third")]
    )
    body = parse_email(raw).body
    assert "first" in body and "second" in body
    assert "third" not in body  # past MAX_HTML_CHARS: kept in the raw message only
    assert 2 * len(filler) < MAX_HTML_CHARS < 3 * len(filler)
    assert parse.CUT_REASON in parse_email(raw).suspect_reasons


def test_a_document_that_inflates_past_the_cap_is_refused_in_little_time_and_memory():
    bomb = document(b"<w:document>" + b" " * 50_000_000 + b"</w:document>")
    assert len(bomb) < 100_000
    tracemalloc.start()
    text, seconds = timed(attachments.docx_text, bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert text == ""
    assert seconds < SECOND
    assert peak < attachments._MAX_XML


@pytest.mark.parametrize("declared", [1_000, attachments._MAX_XML])
def test_a_document_whose_zip_understates_its_size_is_read_no_further_than_the_cap(declared):
    """zipfile reads a member no further than the size its central directory declares (then
    fails its CRC check), and that size is refused past the cap before any reading."""
    bomb = understated(document(b"<w:document>" + b" " * 50_000_000 + b"</w:document>"), declared)
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo("word/document.xml").file_size == declared
    tracemalloc.start()
    text, seconds = timed(attachments.docx_text, bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert text == ""
    assert seconds < 0.1
    assert peak < 2 * attachments._MAX_XML  # the cap, not the 50 MB it inflates to


def test_only_the_first_zipped_document_of_a_message_is_opened():
    empty = document(f'<w:document xmlns:w="{W}"><w:body><w:p/></w:body></w:document>')
    letter = document(
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:t>Dear Editor</w:t></w:p></w:body></w:document>'
    )
    assert parse_email(with_docx(letter, empty)).body == "Dear Editor"
    with pytest.raises(ParseError, match="no letter text"):
        parse_email(with_docx(empty, letter))


def test_a_letter_is_cut_to_the_text_cap_and_the_editors_are_told():
    parsed = parse_email(message("Dear Editor, " + "the trains are late. " * 50_000))
    assert parsed.body.startswith("Dear Editor, the trains")
    assert len(parsed.body) <= MAX_TEXT_CHARS < 50_000 * len("the trains are late. ")
    assert parse.CUT_REASON in parsed.suspect_reasons


def test_a_letter_under_the_caps_is_not_said_to_be_cut():
    assert parse_email(message(SIGNED * 100)).suspect_reasons == []


def test_bytes_windows_1252_leaves_undefined_are_read_as_latin_1_quickly():
    undefined = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
    assert decode_bytes(bytes(range(256))) == "".join(
        chr(b) if b in undefined else bytes([b]).decode("cp1252") for b in range(256)
    )
    text, seconds = timed(decode_bytes, b"\x81\x93ok\x9d" * 1_000_000)
    assert text == "\x81\u201cok\x9d" * 1_000_000
    assert seconds < 0.1


def test_a_word_document_nested_too_deep_gives_no_text_rather_than_a_long_walk():
    xml = f'<w:document xmlns:w="{W}"><w:body>' + "<w:p>" * 500 + "<w:t>hi</w:t>" + "</w:p>" * 500
    assert attachments.docx_text(document(xml + "</w:body></w:document>")) == ""


def test_nested_word_paragraphs_within_the_depth_are_read_once():
    inner = "<w:p><w:r><w:t>one</w:t></w:r><w:p><w:r><w:t>two</w:t></w:r></w:p></w:p>"
    xml = f'<w:document xmlns:w="{W}"><w:body>{inner}</w:body></w:document>'
    assert attachments.docx_text(document(xml)) == "onetwo"


def test_an_attachment_is_read_by_its_content_not_its_name():
    pdf_named_docx = b"%PDF-1.7\n" + b"x" * 100
    assert attachments.attachment_text("docx", pdf_named_docx, None) == ""
    binary_named_txt = b"\x00\x01\x02Dear Editor\x00"
    assert attachments.attachment_text("txt", binary_named_txt, None) == ""
    assert attachments.attachment_text("txt", b"Dear Editor, trains.", "utf-8") == (
        "Dear Editor, trains."
    )
    xml = f'<w:document xmlns:w="{W}"><w:body><w:p><w:t>Dear Editor</w:t></w:p></w:body>'
    assert attachments.attachment_text("docx", document(xml + "</w:document>"), None) == (
        "Dear Editor"
    )
