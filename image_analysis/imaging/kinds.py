"""What a picture is and what an image sent plays: values the presets and prompts use without loading any imaging
library (this module imports nothing)."""

from __future__ import annotations

from enum import StrEnum


class ImageKind(StrEnum):
    """What the picture shows, which decides how it is encoded."""

    PHOTO = "photo"
    DRAWING = "drawing"


ROLE_IMAGE = "image"


ROLE_OVERVIEW = "overview"


ROLE_TILE = "tile"
