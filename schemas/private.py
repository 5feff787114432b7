"""Private data scrubbed at the edge, whatever the field's name, nesting or line shape: identity numbers, mobile
numbers and e-mail addresses become a keyed hash where a value is one (it names a person), a mask inside text;
control characters and bidi overrides are taken out of every text."""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache
from typing import Any

import orjson

_B = r"(?<![0-9A-Za-z])"  # not inside a longer run of digits or letters
_E = r"(?![0-9A-Za-z])"
_ID18 = re.compile(_B + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _E)
_ID15 = re.compile(_B + r"[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}" + _E)
_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}" + _E)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# C0/C1 controls but tab, newline, carriage return and NUL (NUL stays, to be refused by name), and the bidi controls
_UNSAFE = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# a record is looked at closely only when its JSON has a run of 7 digits (or one broken by a space or a dash), an @,
# an escaped control character, DEL, or a lead byte of the UTF-8 of a C1 control or a bidi character: byte searches,
# so the clean majority costs about a microsecond
_DIGITS = bytes.maketrans(b"0123456789", b"0000000000")
# a field name (lower case, without _ - and spaces) that names a person's identifier or contact
_PRIVATE_KEY = re.compile(r"idno|idnum|idcard|identity|citizenid|sfz|zjhm|cert(?:ificate)?no|.*phone|mobile|tel$"
                          r"|telephone|.*e?mail|.*(?:身份|证件|證件|手机|手機|电话|電話|邮箱|郵箱|郵件|邮件)")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
def _valid_check(number: str) -> bool:
    """GB 11643: the 18th character is the ISO 7064 MOD 11-2 check of the first 17."""
    total = sum(int(c) * w for c, w in zip(number[:17], _WEIGHTS))
    return "10X98765432"[total % 11] == number[17].upper()


def _valid_date(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        return True
    except ValueError:
        return False


def _is_id18(m: re.Match) -> bool:
    return _valid_check(m.group()) and _valid_date(m.group()[6:14])


def _is_id15(m: re.Match) -> bool:
    return _valid_date("19" + m.group()[6:12])


def keyed_hash(key: bytes, value: str) -> str:
    """The keyed hash (HMAC-SHA256) a person's identifier is replaced by: the same person, the same hash."""
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def neutralise(text: str) -> str:
    """Text without control characters (but tab and line breaks) and without bidi overrides (U+202E shows a name
    reversed)."""
    return _UNSAFE.sub("", text)


def _matches(text: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), "[id]") for m in _ID18.finditer(text) if _is_id18(m)]
    found += [(m.start(), m.end(), "[id]") for m in _ID15.finditer(text) if _is_id15(m)]
    found += [(m.start(), m.end(), "[mobile]") for m in _MOBILE.finditer(text)]
    found += [(m.start(), m.end(), "[email]") for m in _EMAIL.finditer(text)]
    return sorted(found)


def mask_text(text: str) -> str:
    """Every identity number, mobile number and e-mail address inside a text masked."""
    out, at = [], 0
    for start, end, mask in _matches(text):
        if start >= at:
            out += [text[at:start], mask]
            at = end
    return "".join(out) + text[at:]


def scrub_text(text: str, key: bytes, neutral: bool = True) -> str:
    """A text as it may be kept: hashed when it is itself one person's identifier, else with any inside masked;
    without control characters unless it is a record's id (`neutral` False: two ids that differ only by one are two
    records, and refused or kept as the contract says, never merged)."""
    if neutral:
        text = neutralise(text)
    found = _matches(text)
    if len(found) == 1 and found[0][0] == 0 and found[0][1] == len(text):
        return keyed_hash(key, text if found[0][2] != "[mobile]" else re.sub(r"\D", "", text)[-11:])
    return mask_text(text) if found else text


IDENTITY_FIELD = re.compile(r"(?i)id|identity|sfz|zjhm|cert|身份|证件|證件")  # of those, the identity numbers'


_CLEAN_KEYS: set = set()  # names found not private (at most 4,096 kept)


@lru_cache(maxsize=4096)
def private_key(name: str) -> bool:
    """Whether a field of this name holds a person's identifier or contact, whatever its value looks like."""
    private = _PRIVATE_KEY.match(re.sub(r"[\s_\-]", "", name).lower()) is not None
    if not private and len(_CLEAN_KEYS) < 4096:
        _CLEAN_KEYS.add(name)
    return private


def scrub(value: Any, key: bytes) -> Any:
    """`value` (decoded JSON of any shape) with every private datum hashed or masked, keys too."""
    if isinstance(value, str):
        return scrub_text(value, key)
    if isinstance(value, bool) or not isinstance(value, (dict, list, int)):
        return value
    if isinstance(value, int):
        text = str(value)
        clean = scrub_text(text, key) if len(text) >= 11 else text
        return value if clean == text else clean
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    out: dict = {}
    for k, v in value.items():
        if isinstance(k, str) and private_key(k) and v not in (None, ""):
            v = keyed_hash(key, str(v))
        is_id = isinstance(k, str) and k.endswith("_id") and isinstance(v, str)
        out[scrub_text(str(k), key) if isinstance(k, str) else k] = scrub_text(v, key, False) if is_id else scrub(v, key)
    return out


def suspect(value: Any) -> bool:
    """Whether `value` may hold anything scrub() would change: one pass of a compiled pattern over its JSON, so the
    clean majority costs a microsecond or two."""
    try:
        raw = value.encode() if isinstance(value, str) else orjson.dumps(value)
    except (TypeError, UnicodeEncodeError):
        return True
    if isinstance(value, dict):
        if not value.keys() <= _CLEAN_KEYS and any(not isinstance(k, str) or private_key(k) for k in value):
            return True
        if raw.count(b"{") > 1 or b"[" in raw:
            return True  # nested (or looks it): its keys are looked at one by one
    folded = raw.translate(_DIGITS)
    if (b"0000000" in folded or b"000 0000" in folded or b"000-0000" in folded or b"@" in raw or b"\\" in raw
            or b"\x7f" in raw):
        return True  # a backslash: an escaped control character, or a text worth the closer look anyway
    return (b"\xc2" in raw or b"\xd8" in raw or b"\xe2" in raw) and _UNSAFE.search(raw.decode()) is not None


def scrubbed(value: Any, key: bytes) -> Any:
    return scrub(value, key) if suspect(value) else value
