"""Identifiers taken out of anything kapbot stores (pure).

Patients type e-mail addresses, phone numbers, dates of birth, social security, member and
card numbers into chats and comments. The journal keeps questions and feedback to improve
the documents; none of these is needed for that, so each is replaced by its kind in
brackets before it is written.

Example:
    >>> redact("call me at (555) 123-4567 or jo@example.com, DOB 04/12/1987")
    'call me at [phone] or [email], DOB [date]'
"""

from __future__ import annotations

import re

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# In order: the first that matches a stretch of text names it.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("SSN", re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b")),
    (
        "date",
        re.compile(
            r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2}|"
            rf"{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|"
            rf"\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTH}\.?,? \d{{4}})\b",
            re.IGNORECASE,
        ),
    ),
    (
        "phone",
        re.compile(r"(?<![\w+])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b"),
    ),
    ("number", re.compile(r"\b(?:\d[\s-]?){7,}\d\b")),  # member, card and record numbers
)


def redact(text: str) -> str:
    """``text`` with e-mail addresses, SSNs, dates, phone numbers and long numbers
    replaced by ``[email]``, ``[SSN]``, ``[date]``, ``[phone]`` and ``[number]``."""
    for kind, pattern in _PATTERNS:
        text = pattern.sub(f"[{kind}]", text)
    return text
