"""The stdlib's MIME parser (compat32), with what it costs bounded before the work.

Part of letters.intake.parse (no Django, no database, no network). The stdlib's parser is
linear, but in lines, not bytes, times the multiparts a line is inside (each line is checked
against each of their boundaries), and its reader of header parameters is quadratic. So the
lines are counted before it starts, a part nested too deep is refused as it begins, and the
parameters are read by a linear reader of our own.
"""

from __future__ import annotations

import re
from email import utils as email_utils
from email.feedparser import FeedParser
from email.message import Message
from email.policy import compat32

# ---------------------------------------------------------------------------
# Header parameters (charset, boundary, filename...)
# ---------------------------------------------------------------------------

# A header's parameters are read from its first MAX_PARAMETER_CHARS characters, and at most
# MAX_PARAMETERS of them (no Content-Type or Content-Disposition has a tenth as many: a long
# filename in RFC 2231 pieces has a few dozen): each is read on every part of a message,
# several times.
MAX_PARAMETER_CHARS = 16 * 1024
MAX_PARAMETERS = 100
# One parameter: up to the first ";" outside quotes, a quote being a '"' not after a backslash
# (as the stdlib counts them); a quote left open runs to the end. Possessive: no backtracking.
_PARAMETER = re.compile(r'(?:[^";]++|(?<=\\)"|"(?:[^"]++|(?<=\\)")*+(?:"|\Z))*+')


def _parameters(value: str) -> list[str]:
    """The header's value split into its parameters, as email.message._parseparam splits it,
    in linear time: that one counts the quotes from the parameter's start again at each ";"
    inside quotes (a Content-Type of 100 KB of them: 10 s)."""
    value = ";" + value[:MAX_PARAMETER_CHARS]
    found: list[str] = []
    at = 0
    while at < len(value) and value[at] == ";" and len(found) < MAX_PARAMETERS:
        match = _PARAMETER.match(value, at + 1)
        parameter, at = match.group(0), match.end()
        if "=" in parameter:
            name, _, rest = parameter.partition("=")
            parameter = name.strip().lower() + "=" + rest.strip()
        found.append(parameter.strip())
    return found


class MailMessage(Message):
    """compat32's Message, with its header parameters read by _parameters.

    get_param, get_params, get_boundary (which the parser calls on each multipart),
    get_filename and get_content_charset all read them through _get_params_preserve, a
    private method of the stdlib's: the hostile-message tests time what happens if it ever
    stops being the one."""

    def _get_params_preserve(self, failobj, header):
        missing = object()
        value = self.get(header, missing)
        if value is missing:
            return failobj
        params = []
        for parameter in _parameters(str(value)):
            name, _, val = parameter.partition("=")
            params.append((name.strip(), val.strip()))
        return email_utils.decode_params(params)


# ---------------------------------------------------------------------------
# Lines and depth
# ---------------------------------------------------------------------------

# The most lines a message may have: the parser takes about a microsecond a line at ten
# parts deep. A message at the size limit (30 MiB) whose attachments are base64 (76
# characters a line) has about 400,000.
MAX_LINES = 500_000


def line_count(raw: bytes) -> int:
    """Lines as the parser splits them: at "\\r\\n", "\\r" or "\\n"."""
    return raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")


class TooDeep(Exception):
    """A part nested deeper than the parser was told to read."""


class _BoundedParser(FeedParser):
    """The stdlib's parser, building MailMessages, that refuses a part nested deeper than
    max_depth as soon as it begins (_new_message, the one place a part is begun, is a private
    method of the stdlib's: the hostile-message tests time what happens without it)."""

    def __init__(self, max_depth: int):
        super().__init__(MailMessage, policy=compat32)
        self.max_depth = max_depth

    def _new_message(self):
        if len(self._msgstack) > self.max_depth:
            raise TooDeep
        super()._new_message()


def message_from_bytes(raw: bytes, *, max_depth: int) -> MailMessage:
    """The message, parsed as BytesParser(policy=compat32).parsebytes parses it (fed in the
    same 8192-character pieces); raises TooDeep for a part deeper than max_depth."""
    text = raw.decode("ascii", "surrogateescape")
    parser = _BoundedParser(max_depth)
    for at in range(0, len(text), 8192):
        parser.feed(text[at : at + 8192])
    return parser.close()
