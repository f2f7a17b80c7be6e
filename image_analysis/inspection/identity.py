"""Identities that outlive a spreadsheet's sorting, a second upload and a new numbering.

- A **photo** is its content: the SHA-256 of the file's bytes, and for one sheet of a PDF set its page
  (``<sha256>#p3``). The same photo uploaded twice, under two names, is one photo.
- A **finding** is its photo and its place there: ``<photo>/F2`` for the model's second defect (``F0`` for a photo
  without defects), ``<photo>/A1`` for the first the inspector added. People see a short ref instead, the photo's
  number in this inspection and the same suffix: ``P3-F2``, ``P3-A1``.
"""

from __future__ import annotations

from image_analysis import store_keys
from image_analysis.analysis import Analysis

AI, OWN = "F", "A"
"""A finding's kind in its id and ref: the model's, or one the inspector added."""


def photo_key(sha256: str, page: int | None = None) -> str:
    return f"{sha256}#p{page}" if page else sha256


def photo_of(result: Analysis) -> str:
    """The identity of the photo a result describes: its bytes (and page), from what was prepared, else from the key
    of its stored result; a file that could not even be read is known by its name only."""
    if result.preparation is not None:
        return photo_key(result.preparation.source.sha256, result.preparation.page)
    sha256 = store_keys.file_sha256(result.record or "")
    if sha256:
        return photo_key(sha256)  # a campaign's photo not answered yet: a photo, never a sheet
    return f"unread:{result.name}"


def finding_id(photo: str, kind: str, number: int) -> str:
    return f"{photo}/{kind}{number}"


def split_finding_id(finding: str) -> tuple[str, str, int]:
    """The photo, kind and number of a finding id (``ValueError`` for anything else)."""
    photo, _, suffix = finding.rpartition("/")
    if not photo or suffix[:1] not in (AI, OWN) or not suffix[1:].isdigit():
        raise ValueError(f"not a finding id: {finding!r}")
    return photo, suffix[:1], int(suffix[1:])
