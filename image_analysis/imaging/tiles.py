"""Drawings in tiles: an overview plus overlapping tiles, each within the model's box, so lettering stays readable.

An A1 sheet squeezed into 1540 px is ~46 dpi and its 2.5 mm lettering becomes 4-6 px tall. Tiles at a higher
scale bring it back to ~10-12 px. Pure geometry: no pixels here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from image_analysis.imaging import vision_grid

MAX_IMAGES = 8
"""Images per request (Mistral's limit, the strictest): the overview plus at most seven tiles."""

OVERLAP = 0.10
"""Fraction of a tile shared with its neighbour, so text on a seam is whole in one of them."""

MIN_GAIN = 1.5
"""Tiles are worth their tokens only when they show the sheet at least this much larger than the overview."""


@dataclass(frozen=True)
class Tile:
    """One tile: its place in the grid (from 1) and its box in the working image, in pixels."""

    row: int
    col: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class TilePlan:
    """The scale at which the source is cut, the size of that working image, and the tiles in reading order."""

    scale: float
    size: tuple[int, int]
    tiles: tuple[Tile, ...]

    def region(self, tile: Tile) -> tuple[float, float, float, float]:
        """The tile's box as fractions (x, y, width, height) of the whole sheet."""
        width, height = self.size
        left, top, right, bottom = tile.box
        return left / width, top / height, (right - left) / width, (bottom - top) / height


def _span(count: int) -> float:
    """Pixels of the working image that ``count`` overlapping tiles of the maximum size cover."""
    return vision_grid.MAX_EDGE * (count - (count - 1) * OVERLAP)


def _count(length: int) -> int:
    """The fewest tiles that cover ``length`` working pixels with at least the overlap."""
    count = 1
    while _span(count) < length:
        count += 1
    return count


def _starts(length: int, tile: int, count: int) -> list[int]:
    if count == 1:
        return [0]
    return [round(index * (length - tile) / (count - 1)) for index in range(count)]


def plan_tiles(width: int, height: int, max_tiles: int = MAX_IMAGES - 1) -> TilePlan | None:
    """The best tiling of a ``width`` x ``height`` sheet, or ``None`` when tiles would not show it much larger."""
    overview_scale = min(1.0, vision_grid.MAX_EDGE / max(width, height))
    best_scale = 0.0
    for cols in range(1, max_tiles + 1):
        for rows in range(1, max_tiles // cols + 1):
            if cols * rows >= 2:
                best_scale = max(best_scale, min(1.0, _span(cols) / width, _span(rows) / height))
    if best_scale < MIN_GAIN * overview_scale:
        return None
    size = (max(math.floor(width * best_scale), 1), max(math.floor(height * best_scale), 1))
    cols, rows = _count(size[0]), _count(size[1])
    tile_w, tile_h = min(vision_grid.MAX_EDGE, size[0]), min(vision_grid.MAX_EDGE, size[1])
    tiles = tuple(
        Tile(row=row + 1, col=col + 1, box=(left, top, left + tile_w, top + tile_h))
        for row, top in enumerate(_starts(size[1], tile_h, rows))
        for col, left in enumerate(_starts(size[0], tile_w, cols))
    )
    return TilePlan(scale=best_scale, size=size, tiles=tiles)
