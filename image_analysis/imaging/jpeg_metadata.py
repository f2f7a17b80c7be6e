"""A JPEG's own bytes without its metadata: what lets a photo that needs no resize, rotation or colour conversion be
sent as it was uploaded (no second generation of loss, never larger than the upload) while only pixels leave.

Kept: the segments a decoder needs (quantisation and Huffman tables, frame and scan headers, restart interval,
arithmetic-coding conditioning, the entropy-coded data), the JFIF header (without its thumbnail; added when the file
had none) and the Adobe header (which says how the colour is coded). Dropped: every other APPn segment (EXIF with
GPS, XMP, ICC, IPTC, FlashPix, MPF, JFXX thumbnails, makers' own), comments, and anything after the image's end (a
second MPO frame, appended data).
"""

from __future__ import annotations

import struct

SOI, EOI, SOS, COM = 0xD8, 0xD9, 0xDA, 0xFE
APP0, APP14 = 0xE0, 0xEE
_DECODING = {0xC4, 0xCC, 0xDB, 0xDD} | {marker for marker in range(0xC0, 0xD0) if marker not in (0xC4, 0xC8, 0xCC)}
"""DHT, DAC, DQT, DRI and the frame headers SOF0-SOF15."""
DEFAULT_JFIF = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
"""JFIF 1.01, no density, no thumbnail: always the first segment, where readers (python-docx among them) look for
what kind of JPEG this is; a camera file that had only EXIF there gets it."""


def without_metadata(data: bytes) -> bytes | None:
    """``data`` with every metadata segment removed, or ``None`` when its structure is not one this reads (then
    the caller encodes the pixels instead)."""
    if data[:2] != b"\xff\xd8":
        return None
    jfif = DEFAULT_JFIF
    adobe = False
    kept: list[bytes] = []
    at = 2
    while at + 2 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == EOI:
            if adobe and jfif is DEFAULT_JFIF:
                return None  # Adobe's colour coding without JFIF's: a JFIF header added could misname it
            return b"".join([b"\xff\xd8", jfif, *kept, b"\xff\xd9"])
        if at + 4 > len(data):
            return None
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        end = at + 2 + length
        if length < 2 or end > len(data):
            return None
        segment = data[at:end]
        if marker in _DECODING or marker == SOS:
            kept.append(segment)
        elif marker == APP0 and segment[4:9] == b"JFIF\0" and length >= 16:
            jfif = b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"  # the header, its thumbnail left out
        elif marker == APP14 and segment[4:9] == b"Adobe":
            adobe = True
            kept.append(segment)
        elif not (0xE0 <= marker <= 0xEF or marker == COM):
            return None  # a segment this does not know: do not guess
        at = end
        if marker == SOS:
            scan_end = _scan_end(data, at)
            if scan_end is None:
                return None
            kept.append(data[at:scan_end])
            at = scan_end
    return None


def _scan_end(data: bytes, at: int) -> int | None:
    """Where a scan's entropy-coded data ends: at the first marker that is not a stuffed byte or a restart."""
    while True:
        found = data.find(b"\xff", at)
        if found < 0 or found + 1 >= len(data):
            return None
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            at = found + 2
        elif following == 0xFF:
            at = found + 1
        else:
            return found
