"""How the vision model's server sizes an image: the 1540 px box, the 28 px grid and the token count.

This mirrors ``mistral_common.tokens.tokenizers.image.ImageEncoder`` (patch 14, spatial merge 2, max 1540),
which vLLM uses for Mistral models; the tests check it against mistral-common itself.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_EDGE = 1540
"""The server scales anything whose longest side exceeds this many pixels."""

CELL = 28
"""One image token covers a 28 x 28 px cell (14 px patches, 2 x 2 merged)."""


@dataclass(frozen=True)
class Grid:
    """The server's token grid for an image: ``cols`` x ``rows`` cells of 28 px."""

    cols: int
    rows: int

    @property
    def pixel_size(self) -> tuple[int, int]:
        """The size the server stretches the image to before the encoder sees it."""
        return CELL * self.cols, CELL * self.rows

    @property
    def image_tokens(self) -> int:
        """One token per cell plus one break per row (the last one is the image end)."""
        return self.rows * (self.cols + 1)


def fitted_size(width: int, height: int) -> tuple[int, int]:
    """The size after the server's fit into the 1540 px box (aspect kept, never upscaled)."""
    ratio = max(height / MAX_EDGE, width / MAX_EDGE)
    if ratio <= 1:
        return width, height
    return max(round(width / ratio), 1), max(round(height / ratio), 1)


def server_grid(width: int, height: int) -> Grid:
    """The grid the server computes for an image of ``width`` x ``height`` pixels."""
    w, h = fitted_size(width, height)
    return Grid(cols=(w - 1) // CELL + 1, rows=(h - 1) // CELL + 1)


def image_tokens(width: int, height: int) -> int:
    """Image tokens the server counts for an image of ``width`` x ``height`` pixels."""
    return server_grid(width, height).image_tokens


def target_size(width: int, height: int) -> tuple[int, int]:
    """The size the app resizes to so that the server's own resize is a no-op, never upscaling.

    Each side goes straight to the server's grid (``28 * cols``, ``28 * rows``) when that is a
    reduction; a side already smaller than its grid size is kept, and the server stretches it up
    (an upscale cannot alias). Either way the server computes the same grid as for the original.
    """
    grid_w, grid_h = server_grid(width, height).pixel_size
    return min(grid_w, width), min(grid_h, height)
