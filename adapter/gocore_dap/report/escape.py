"""Make what the program wrote safe to print: in a terminal, in Markdown, in HTML.

A panic value, a goroutine label, even a function or file name comes from the core and can hold
anything: terminal escape sequences (ESC, the 8-bit CSI U+009B), bidirectional overrides that make
text read differently from what it is, HTML (`<img src=x onerror=...>`, which a Markdown renderer that
allows HTML would run), and Markdown (`|` ends a table cell, a backtick closes a code span, `[x](y)`
makes a link). Every renderer passes such text through one of these functions.

Control characters are shown as `\\xNN` / `\\uNNNN` escapes rather than dropped, so the reader still sees
that they were there.
"""

from __future__ import annotations

import html
import re

__all__ = ["clean_controls", "html_text", "markdown_code_span", "markdown_fence", "markdown_inline"]

# C0 controls but tab and newline, DEL, C1 controls (U+0080-U+009F: U+009B is an 8-bit CSI some
# terminals obey), and the bidirectional formatting characters (Trojan Source, CVE-2021-42574).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that can start
# emphasis, code, links, images, tables, strikethrough or raw HTML in running text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean_controls(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with every control character but tab (and newline, when kept) written as an escape."""
    cleaned = _CONTROLS.sub(_escape_control, text)
    if not keep_newlines:
        cleaned = cleaned.replace("\r", "\\r").replace("\n", " ")
    return cleaned


def markdown_inline(text: str) -> str:
    """Running Markdown text (a heading, a table cell, a list item): one line, no HTML, no markup.

    HTML's `&`, `<` and `>` become entities (rendered as the characters, never as tags), Markdown's
    punctuation is backslash-escaped, newlines become spaces (they would end a table row).
    """
    one_line = clean_controls(text, keep_newlines=False)
    escaped = html.escape(one_line, quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


def markdown_code_span(text: str) -> str:
    """An inline code span holding `text` literally: delimited by more backticks than any run inside
    (CommonMark), with a space of padding when the text starts or ends with a backtick."""
    one_line = clean_controls(text, keep_newlines=False)
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    if one_line.startswith("`") or one_line.endswith("`"):
        one_line = f" {one_line} "
    return f"{fence}{one_line}{fence}"


def markdown_fence(text: str) -> str:
    """A fenced code block holding `text` literally: a fence longer than any run of backticks inside,
    so the content cannot close it. HTML inside a code block is shown, never interpreted."""
    body = clean_controls(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body}\n{fence}"


def html_text(text: str) -> str:
    """Text for an HTML element or attribute (`<summary>` inside the Markdown report)."""
    return html.escape(clean_controls(text, keep_newlines=False), quote=True)
