"""Is a file's compressed data whole? Checks for the formats whose decoders hide damage instead of reporting it.

Pillow refuses a damaged PNG, GIF, WebP or compressed TIFF, and a truncated JPEG. Two kinds of damage get through:

- JPEG: libjpeg treats a corrupt entropy-coded segment as a *warning*, fills the rest of the scan with flat grey and
  carries on, and Pillow does not pass the warning on. ``check`` decodes the file once more with libjpeg-turbo
  (simplejpeg) in strict mode at 1/8 scale, which decodes every coefficient but few pixels (about 35 ms for 12 MP).
- HEIC/HEIF: libheif decodes a grid image whose tiles are missing as blank tiles. ``check`` walks the file's
  top-level boxes, whose declared sizes must fit the bytes present.

Each returns quietly for a sound file and raises ``DamagedDataError`` (with a short reason) for a damaged one.
"""

from __future__ import annotations

import struct

try:
    import simplejpeg
except ImportError:  # pragma: no cover - simplejpeg is in requirements.txt
    simplejpeg = None


class DamagedDataError(ValueError):
    """The file's data is corrupt or ends early; ``str(error)`` says which, in the decoder's words."""


def check(data: bytes, format: str | None) -> None:
    """Raise ``DamagedDataError`` when ``data`` (identified as ``format``) is damaged in a way its decoder hides."""
    if format in ("JPEG", "MPO"):
        _check_jpeg(data)
    elif format == "HEIF":
        _check_boxes(data)


def _check_jpeg(data: bytes) -> None:
    if simplejpeg is None:  # pragma: no cover
        return
    try:
        header = simplejpeg.decode_jpeg_header(data)
        colourspace = "CMYK" if header[2] in ("CMYK", "YCCK") else "GRAY"
        simplejpeg.decode_jpeg(data, colorspace=colourspace, min_height=1, min_width=1, min_factor=8, strict=True)
    except ValueError as error:
        message = str(error)
        raise DamagedDataError("truncated" if "Premature end" in message else message) from None


def _check_boxes(data: bytes) -> None:
    """ISO base media file format: each top-level box declares its size; together they must fit the file."""
    offset, end = 0, len(data)
    while offset < end:
        if end - offset < 8:
            raise DamagedDataError("truncated: a box header is cut off")
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:  # a 64-bit size follows the type
            if end - offset < 16:
                raise DamagedDataError("truncated: a box header is cut off")
            (size,) = struct.unpack_from(">Q", data, offset + 8)
        elif size == 0:  # the box runs to the end of the file
            return
        if size < 8:
            raise DamagedDataError(f"a box ({kind!r}) declares an impossible size")
        if offset + size > end:
            raise DamagedDataError(
                f"truncated: the {kind.decode('latin-1')!r} box needs {offset + size - end} more bytes"
            )
        offset += size
