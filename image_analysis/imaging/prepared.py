"""The values the image stage hands on: the source as identified, each image exactly as sent, a display copy, and
the whole preparation of one upload (restorable from JSON for ``vkt.memoize``)."""

from __future__ import annotations

import base64
import dataclasses
import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from image_analysis.imaging import pdf
from image_analysis.imaging.encode import reduced_jpeg, save_pixels
from image_analysis.imaging.kinds import ROLE_IMAGE, ImageKind
from image_analysis.imaging.metadata import PhotoMetadata


@dataclass(frozen=True)
class SourceImage:
    """The uploaded file as identified from its bytes; ``width``/``height`` are after orientation."""

    name: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class PreparedImage:
    """One image exactly as it is sent: encoded bytes, their MIME type and the tokens they cost."""

    mime: str
    width: int
    height: int
    data: bytes = field(repr=False)
    image_tokens: int
    role: str = ROLE_IMAGE
    region: tuple[float, float, float, float] | None = None
    """For a tile: its box as fractions (x, y, width, height) of the whole sheet."""
    grid: tuple[int, int] | None = None
    """For a tile: its (row, column) in the tiling, from 1."""
    sent: int = 0
    """Bytes sent, kept when ``data`` was dropped (``Preparation.for_display``); otherwise ``len(data)``."""
    label: str = ""
    """What the image is, said to the model before it when several are sent (``the previous inspection's photo``)."""

    @property
    def sent_bytes(self) -> int:
        return len(self.data) or self.sent

    @property
    def data_uri(self) -> str:
        """The ``data:`` URI sent to the model and shown on the page."""
        if not self.data:
            raise ValueError("this is a display copy: the sent pixels were not kept; prepare the upload again")
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def payload_length(self) -> int:
        """Length of the ``data:`` URI, computed (also for a display copy, which has no pixels)."""
        return len(f"data:{self.mime};base64,") + 4 * ((self.sent_bytes + 2) // 3)

    def summary(self) -> dict[str, Any]:
        """What ``prepare`` reports for this image."""
        summary: dict[str, Any] = {
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": self.sent_bytes,
            "image_tokens": self.image_tokens,
            "role": self.role,
        }
        if self.region is not None:
            summary["region"] = [round(value, 4) for value in self.region]
            summary["grid"] = list(self.grid or ())
        return summary


@dataclass(frozen=True)
class ShownImage:
    """A display copy of the first image sent: what the page and the reports show when the sent pixels are not
    carried (the VIKTOR app's cached and stored results), smaller than what was sent."""

    mime: str
    width: int
    height: int
    data: bytes = field(repr=False)

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


DISPLAY_LONG_SIDE = 1024
"""Long side of a photo's display copy: sharp on a 2x screen in the page's image panel and in a Word report."""


DISPLAY_JPEG_QUALITY = 80


DISPLAY_DRAWING_BYTES = 300_000
"""A drawing's overview is shown as it was sent (lossless, at the sent size) up to this size; above it, as a JPEG
at the sent size, so that lettering stays as legible as what the model saw."""


@dataclass(frozen=True)
class Preparation:
    """Everything prepared from one upload: the source, the images to send, metadata and notes for the user."""

    source: SourceImage
    images: tuple[PreparedImage, ...]
    kind: ImageKind
    metadata: PhotoMetadata
    notes: tuple[str, ...] = ()
    page: int | None = None
    """For a PDF: the page analysed (from 1)."""
    text: tuple[pdf.TextSegment, ...] | None = None
    """For a PDF: the page's own text layer (empty for a scanned sheet); ``None`` for other files."""
    shown: ShownImage | None = None
    """A display copy, when the sent pixels are not carried (``for_display``)."""

    @property
    def image_tokens(self) -> int:
        """Image tokens of all images sent."""
        return sum(image.image_tokens for image in self.images)

    @property
    def payload_bytes(self) -> int:
        """Total length of the data URIs sent."""
        return sum(image.payload_length for image in self.images)

    @property
    def exact(self) -> bool:
        """Whether the sent pixels are here (and can be sent again, as the chat does)."""
        return all(image.data for image in self.images)

    @property
    def display(self) -> ShownImage | PreparedImage:
        """The image to show: the display copy, or the first image sent."""
        return self.shown or self.images[0]

    def for_display(self, shown: ShownImage | None = None) -> Preparation:
        """The same facts with a small display copy instead of the sent pixels: what the VIKTOR app caches, stores
        and puts on its pages (a phone photo: ~100 kB instead of ~450 kB, tiles not carried); ``shown``: a copy
        made already (``reduced_copy``)."""
        if not self.exact:
            return self
        return dataclasses.replace(
            self,
            images=tuple(dataclasses.replace(image, data=b"", sent=len(image.data)) for image in self.images),
            shown=shown or display_copy(self.images[0], self.kind),
        )

    def summary(self) -> dict[str, Any]:
        """The JSON that ``python -m image_analysis prepare`` prints."""
        source = self.source
        return {
            "source": {
                "name": source.name,
                "format": source.format,
                "width": source.width,
                "height": source.height,
                "bytes": source.bytes,
            },
            "kind": self.kind.value,
            "images": [image.summary() for image in self.images],
            "image_tokens": self.image_tokens,
            "payload_bytes": self.payload_bytes,
            "metadata": self.metadata.as_dict(),
            "notes": list(self.notes),
            "page": self.page,
            "text_segments": None if self.text is None else len(self.text),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form that ``from_json`` restores exactly (for ``vkt.memoize``)."""
        data = self.summary()
        data["source"]["sha256"] = self.source.sha256
        for entry, image in zip(data["images"], self.images, strict=True):
            entry["data"] = base64.b64encode(image.data).decode("ascii") if image.data else None
            entry["region"] = list(image.region) if image.region else None
        data["text"] = None if self.text is None else [dataclasses.astuple(segment) for segment in self.text]
        shown = self.shown
        data["shown"] = None
        if shown is not None:
            data["shown"] = {"mime": shown.mime, "width": shown.width, "height": shown.height}
            data["shown"]["data"] = base64.b64encode(shown.data).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preparation:
        """Restore a preparation saved with ``to_json``."""
        images = tuple(
            PreparedImage(
                mime=entry["mime"],
                width=entry["width"],
                height=entry["height"],
                data=base64.b64decode(entry["data"]) if entry.get("data") else b"",
                image_tokens=entry["image_tokens"],
                role=entry["role"],
                region=tuple(entry["region"]) if entry.get("region") else None,
                grid=tuple(entry["grid"]) if entry.get("grid") else None,
                sent=0 if entry.get("data") else entry["bytes"],
            )
            for entry in data["images"]
        )
        shown = data.get("shown")
        return cls(
            source=SourceImage(**data["source"]),
            images=images,
            kind=ImageKind(data["kind"]),
            metadata=PhotoMetadata.from_dict(data["metadata"]),
            notes=tuple(data["notes"]),
            page=data.get("page"),
            text=None if data.get("text") is None else tuple(pdf.TextSegment(*row) for row in data["text"]),
            shown=None if not shown else ShownImage(**{**shown, "data": base64.b64decode(shown["data"])}),
        )


def reduced_copy(image: PreparedImage, at_least: int) -> ShownImage | None:
    """A display copy of a sent JPEG decoded at a reduced scale with a long side of ``at_least`` px or more, not
    resampled (``encode.reduced_jpeg``): a campaign's entries, a thousand at a time; ``None`` when there is none."""
    reduced = reduced_jpeg(image.data, at_least)
    return None if reduced is None else ShownImage("image/jpeg", reduced[1], reduced[2], reduced[0])


def display_copy(image: PreparedImage, kind: ImageKind) -> ShownImage:
    """A display copy of a sent image: a photo at most ``DISPLAY_LONG_SIDE`` px as JPEG; a drawing at the sent
    size, lossless while that stays small, else as a JPEG (no metadata either way)."""
    if kind is ImageKind.DRAWING and len(image.data) <= DISPLAY_DRAWING_BYTES:
        return ShownImage(image.mime, image.width, image.height, image.data)
    with Image.open(io.BytesIO(image.data)) as opened:
        pixels = opened.convert("L" if opened.mode in ("L", "1") else "RGB")
    if kind is not ImageKind.DRAWING and max(pixels.size) > DISPLAY_LONG_SIDE:
        pixels.thumbnail((DISPLAY_LONG_SIDE, DISPLAY_LONG_SIDE), Image.Resampling.LANCZOS)
    quality = DISPLAY_JPEG_QUALITY if kind is not ImageKind.DRAWING else 85
    data = save_pixels(pixels, "JPEG", quality=quality)
    return ShownImage("image/jpeg", pixels.width, pixels.height, data)
