"""Credential claims ⇄ QR text: CWT claims in COSE_Sign1, zlib, base45, ``AB1:`` prefix.

Layout (see docs/credentials.md): ``"AB1:" + base45(zlib(COSE_Sign1(CWT claims)))``.
Input is capped at every stage (text length, inflated size) before any work is done, so a
hostile QR costs a bounded amount of time and memory.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anbao.accreditation.credentials import cose
from anbao.accreditation.credentials.errors import CredentialError, Reason

PREFIX = "AB1:"
SCHEME_VERSION = 1
MAX_TEXT = 1200  # characters; a version-13-Q QR holds fewer, so a longer text is hostile
MAX_INFLATED = 4096  # bytes; a credential inflates to ~250, so this stops zlib bombs
CID_LEN = 16
PHOTO_HASH_LEN = 8
MAX_ITEMS = 64
MAX_STR = 40


class Purpose(IntEnum):
    """What a credential (and the key that signs it) is for; encoded as a small integer."""

    BADGE = 1
    VEHICLE = 2
    DAY_PASS = 3
    HEALTH_PASS = 4

    @property
    def label(self) -> str:
        """Return the purpose's name as used in keys, APIs and policies (``day_pass``)."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | int | Purpose) -> Purpose:
        """Return the purpose named by ``value`` (a label, a code or a member)."""
        if isinstance(value, Purpose):
            return value
        if isinstance(value, int):
            return cls(value)
        return cls[value.upper()]


class HealthColour(IntEnum):
    """A health-code colour carried by a health pass."""

    NONE = 0
    GREEN = 1
    YELLOW = 2
    RED = 3


# CWT claim keys: the registered ones (RFC 8392) and private negative ones, which encode
# in a single CBOR byte.
K_ISS, K_EXP, K_NBF, K_IAT, K_CTI = 1, 4, 5, 6, 7
K_VER, K_PURPOSE, K_CATEGORY, K_ZONES, K_VENUES = -1, -2, -3, -4, -5
K_PHOTO, K_PLATE, K_SUBJECT, K_COLOUR, K_TESTED, K_COLOUR_AT = -6, -7, -8, -9, -10, -11
_REQUIRED = frozenset({K_ISS, K_EXP, K_NBF, K_IAT, K_CTI, K_VER, K_PURPOSE})
_KNOWN = _REQUIRED | {K_CATEGORY, K_ZONES, K_VENUES, K_PHOTO, K_PLATE, K_SUBJECT}
_KNOWN |= {K_COLOUR, K_TESTED, K_COLOUR_AT}


@dataclass(frozen=True, slots=True)
class Claims:
    """The signed content of a credential: no names, no ID numbers.

    Times are integer seconds since the epoch (UTC). ``subject`` binds a health pass to
    the badge's credential id; ``colour`` (observed at ``colour_at``) and ``tested_at`` (the
    sample time of the last negative test) are the health facts it carries.
    """

    cid: bytes
    purpose: Purpose
    event: str
    nbf: int
    exp: int
    iat: int
    category: str = ""
    zones: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()
    photo: bytes = b""
    plate: str = ""
    subject: bytes = b""
    colour: HealthColour = HealthColour.NONE
    tested_at: int = 0
    colour_at: int = 0
    version: int = SCHEME_VERSION
    extra: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_cbor_map(self) -> dict[int, Any]:
        """Return the CWT claims map, leaving out empty optional claims."""
        out: dict[int, Any] = {
            K_ISS: self.event,
            K_EXP: self.exp,
            K_NBF: self.nbf,
            K_IAT: self.iat,
            K_CTI: self.cid,
            K_VER: self.version,
            K_PURPOSE: int(self.purpose),
        }
        optional: tuple[tuple[int, Any], ...] = (
            (K_CATEGORY, self.category),
            (K_ZONES, [_zone_out(z) for z in self.zones]),
            (K_VENUES, list(self.venues)),
            (K_PHOTO, self.photo),
            (K_PLATE, self.plate),
            (K_SUBJECT, self.subject),
            (K_COLOUR, int(self.colour)),
            (K_TESTED, self.tested_at),
            (K_COLOUR_AT, self.colour_at),
        )
        for key, value in optional:
            if value:
                out[key] = value
        return out

    def as_json(self) -> dict[str, Any]:
        """Return the claims as a JSON-ready dict (bytes as hex)."""
        return {
            "cid": self.cid.hex(),
            "purpose": self.purpose.label,
            "event": self.event,
            "category": self.category,
            "zones": list(self.zones),
            "venues": list(self.venues),
            "nbf": self.nbf,
            "exp": self.exp,
            "iat": self.iat,
            "photo": self.photo.hex(),
            "plate": self.plate,
            "subject": self.subject.hex(),
            "colour": self.colour.name.lower(),
            "tested_at": self.tested_at,
            "colour_at": self.colour_at,
            "version": self.version,
        }


def encode_claims(claims: Claims) -> bytes:
    """Return the deterministic CBOR encoding of ``claims``."""
    return cbor2.dumps(claims.as_cbor_map(), canonical=True)


def _bad(detail: str) -> CredentialError:
    return CredentialError(Reason.MALFORMED, detail)


def _int(m: dict[Any, Any], key: int, default: int | None = None) -> int:
    value = m.get(key, default)
    # bool is an int subclass; a claim of ``true`` is a type error, not 1.
    if type(value) is not int or not 0 <= value < 2**40:
        raise _bad(f"claim {key} must be a non-negative integer")
    return value


def _str(m: dict[Any, Any], key: int, limit: int = MAX_STR) -> str:
    value = m.get(key, "")
    if type(value) is not str or len(value) > limit:
        raise _bad(f"claim {key} must be a short text")
    return value


def _bytes(m: dict[Any, Any], key: int, sizes: tuple[int, ...]) -> bytes:
    value = m.get(key, b"")
    if type(value) is not bytes or len(value) not in sizes:
        raise _bad(f"claim {key} must be bytes of length {sizes}")
    return value


def _zone_out(zone: str) -> str | int:
    # Zone numbers are mostly small decimals: as CBOR integers they take one byte, not two.
    if zone.isascii() and zone.isdigit() and str(int(zone)) == zone and int(zone) < 2**16:
        return int(zone)
    return zone


def _strs(m: dict[Any, Any], key: int, numbers: bool = False) -> tuple[str, ...]:
    value = m.get(key, [])
    if type(value) is not list or len(value) > MAX_ITEMS:
        raise _bad(f"claim {key} must be a short list")
    out: list[str] = []
    for item in value:
        if numbers and type(item) is int and 0 <= item < 2**16:
            out.append(str(item))
        elif type(item) is str and 0 < len(item) <= MAX_STR:
            out.append(item)
        else:
            raise _bad(f"claim {key} must list short texts")
    return tuple(out)


def claims_from_map(m: Any) -> Claims:
    """Validate a decoded claims map and return the claims; bad types are ``malformed``."""
    if type(m) is not dict:
        raise _bad("claims must be a map")
    if not _REQUIRED.issubset(m.keys()):
        raise _bad("a required claim is missing")
    try:
        purpose = Purpose(_int(m, K_PURPOSE))
        colour = HealthColour(_int(m, K_COLOUR, 0))
    except ValueError:
        raise _bad("unknown purpose or colour") from None
    version = _int(m, K_VER)
    if version != SCHEME_VERSION:
        raise _bad(f"unsupported scheme version {version}")
    extra = {k: v for k, v in m.items() if k not in _KNOWN}
    return Claims(
        cid=_bytes(m, K_CTI, (CID_LEN,)),
        purpose=purpose,
        event=_str(m, K_ISS),
        nbf=_int(m, K_NBF),
        exp=_int(m, K_EXP),
        iat=_int(m, K_IAT),
        category=_str(m, K_CATEGORY),
        zones=_strs(m, K_ZONES, numbers=True),
        venues=_strs(m, K_VENUES),
        photo=_bytes(m, K_PHOTO, (0, PHOTO_HASH_LEN)),
        plate=_str(m, K_PLATE),
        subject=_bytes(m, K_SUBJECT, (0, CID_LEN)),
        colour=colour,
        tested_at=_int(m, K_TESTED, 0),
        colour_at=_int(m, K_COLOUR_AT, 0),
        version=version,
        extra=extra,
    )


def decode_claims(payload: bytes) -> Claims:
    """Decode and validate a CBOR claims payload."""
    return claims_from_map(cose.loads(payload))


# --- base45 (RFC 9285), strict: one text per byte string -------------------------------

B45_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INVALID = 0xFF
_B45_TABLE = bytes(
    B45_CHARSET.index(chr(i)) if chr(i) in B45_CHARSET else _B45_INVALID for i in range(256)
)


@functools.cache
def _b45_triples() -> tuple[str, ...]:
    # All 65,536 three-character groups, built once on the issuing side (about 4 MB); it
    # makes encoding a table lookup per two bytes instead of two divisions.
    cs = B45_CHARSET
    return tuple(cs[w % 45] + cs[w // 45 % 45] + cs[w // 2025] for w in range(0x10000))


def b45encode(data: bytes) -> str:
    """Encode bytes as base45 text."""
    n = len(data)
    table = _b45_triples()
    words = struct.unpack(f">{n // 2}H", data[: n - n % 2])
    text = "".join([table[w] for w in words])
    if n & 1:
        d, c = divmod(data[-1], 45)
        text += B45_CHARSET[c] + B45_CHARSET[d]
    return text


def b45decode(text: str) -> bytes:
    """Decode base45 text; raise ``malformed`` for any invalid character or group."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise _bad("base45: invalid character") from None
    # Map characters to digit values in C (invalid characters become 0xFF), then combine
    # the digits column-wise: several times faster than a per-character loop.
    vals = raw.translate(_B45_TABLE)
    if _B45_INVALID in vals:
        raise _bad("base45: invalid character")
    n = len(vals)
    if n % 3 == 1:
        raise _bad("base45: truncated")
    full = n - n % 3
    words = [
        a + b * 45 + c * 2025
        for a, b, c in zip(vals[0:full:3], vals[1:full:3], vals[2:full:3], strict=True)
    ]
    if words and max(words) > 0xFFFF:
        raise _bad("base45: group out of range")
    out = struct.pack(f">{len(words)}H", *words)
    if n % 3 == 2:
        x = vals[-2] + vals[-1] * 45
        if x > 0xFF:
            raise _bad("base45: group out of range")
        out += bytes((x,))
    return out


# --- the whole envelope --------------------------------------------------------------------


def wrap(cose_bytes: bytes) -> str:
    """Return the QR text for signed COSE bytes."""
    return PREFIX + b45encode(zlib.compress(cose_bytes, 9))


def unwrap(text: Any) -> bytes:
    """Return the COSE bytes inside QR text; every failure is ``malformed`` or ``too_large``."""
    if type(text) is not str:
        raise _bad("QR text must be a string")
    if len(text) > MAX_TEXT:
        raise CredentialError(Reason.TOO_LARGE, f"QR text over {MAX_TEXT} characters")
    if not text.startswith(PREFIX):
        raise _bad("unknown prefix")
    compressed = b45decode(text[len(PREFIX) :])
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_INFLATED + 1)
    except zlib.error:
        raise _bad("zlib: corrupt stream") from None
    if len(data) > MAX_INFLATED or inflater.unconsumed_tail:
        raise CredentialError(Reason.TOO_LARGE, f"inflates past {MAX_INFLATED} bytes")
    if not inflater.eof or inflater.unused_data:
        raise _bad("zlib: truncated stream or trailing bytes")
    return data


def sign_claims(claims: Claims, *, kid: bytes, key: Ed25519PrivateKey) -> str:
    """Sign ``claims`` with ``key`` (whose id is ``kid``) and return the QR text."""
    return wrap(cose.sign1(encode_claims(claims), kid=kid, key=key))
