"""What the original file says about the photo (date taken, position, camera, orientation).

It is read for the page and the report only: nothing of it is ever sent to the model.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from image_analysis.safe_text import clean

_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_GPS_H_ERROR = 31
"""GPSHPositioningError: the horizontal positioning error in metres (EXIF 2.31)."""
_DATE_TIME_ORIGINAL = 0x9003
_DATE_TIME_DIGITIZED = 0x9004
_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_TIME_DIGITIZED = 0x9012

ORIENTATION_NAMES = {
    1: "upright as stored",
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped vertically",
    5: "mirrored and rotated 90° counter-clockwise",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90° clockwise",
    8: "rotated 90° counter-clockwise",
}


@dataclass(frozen=True)
class GpsPosition:
    """A position in decimal degrees, south and west negative."""

    lat: float
    lon: float
    accuracy_m: float | None = None
    """The receiver's horizontal error in metres (EXIF GPSHPositioningError), when the camera wrote it."""


@dataclass(frozen=True)
class PhotoMetadata:
    """Facts from the file's EXIF: shown to the user, never sent to the model."""

    taken_at: str | None = None
    gps: GpsPosition | None = None
    camera: str | None = None
    orientation: int | None = None

    @property
    def orientation_applied(self) -> str | None:
        """What the app did to show the photo upright, in words (``None`` when nothing was needed)."""
        if self.orientation in (None, 1):
            return None
        return ORIENTATION_NAMES.get(self.orientation)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["orientation_applied"] = self.orientation_applied
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoMetadata:
        gps = data.get("gps")
        return cls(
            taken_at=data.get("taken_at"),
            gps=GpsPosition(**gps) if gps else None,
            camera=data.get("camera"),
            orientation=data.get("orientation"),
        )


def read_metadata(image: Image.Image) -> PhotoMetadata:
    """Read date taken, GPS, camera and orientation; missing or malformed tags become ``None``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about every damaged tag; damaged tags are simply absent
            exif = image.getexif()
            exif.get_ifd(_EXIF_IFD)
            exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - a malformed EXIF block must not stop the analysis
        return PhotoMetadata()
    orientation = exif.get(_ORIENTATION)
    return PhotoMetadata(
        taken_at=_taken_at(exif),
        gps=_gps(exif),
        camera=_camera(exif),
        orientation=orientation if orientation in ORIENTATION_NAMES else None,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = clean(value.replace("\x00", "").strip())
    return value or None


def _taken_at(exif: Image.Exif) -> str | None:
    try:
        ifd = exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001
        return None
    for date_tag, offset_tag in (
        (_DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL),
        (_DATE_TIME_DIGITIZED, _OFFSET_TIME_DIGITIZED),
    ):
        stamp = _text(ifd.get(date_tag))
        if not stamp or len(stamp) < 19 or stamp.startswith("0000"):
            continue
        date, _, time = stamp[:19].partition(" ")
        iso = f"{date.replace(':', '-')}T{time}"
        offset = _text(ifd.get(offset_tag))
        if offset and len(offset) == 6 and offset[0] in "+-":
            iso += offset
        return iso
    return None


def _degrees(value: Any, reference: Any, negative: str) -> float | None:
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    return -decimal if (_text(reference) or "").upper() == negative else decimal


def _gps(exif: Image.Exif) -> GpsPosition | None:
    try:
        ifd = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001
        return None
    lat = _degrees(ifd.get(2), ifd.get(1), "S")
    lon = _degrees(ifd.get(4), ifd.get(3), "W")
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GpsPosition(lat=round(lat, 7), lon=round(lon, 7), accuracy_m=_accuracy(ifd.get(_GPS_H_ERROR)))


def _accuracy(value: object) -> float | None:
    """A horizontal positioning error in metres, when it is a plausible one (0 to 10 km)."""
    try:
        metres = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return round(metres, 1) if 0 <= metres <= 10_000 else None


def _camera(exif: Image.Exif) -> str | None:
    make, model = _text(exif.get(_MAKE)), _text(exif.get(_MODEL))
    if make and model and model.lower().startswith(make.lower()):
        return model
    return " ".join(part for part in (make, model) if part) or None
