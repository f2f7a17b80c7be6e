"""Only pixels are sent: an upload in any accepted format, carrying EXIF with GPS, XMP, IPTC, an ICC profile with a
name string, comments and text chunks (each holding a marker such as an e-mail address), yields sent images in which
no marker appears and no metadata segment or chunk exists: for JPEG only what it needs to decode (JFIF, Adobe), for
PNG no text, EXIF, ICC or time chunk."""

from __future__ import annotations

import io
import struct

import pytest
from docx.image.image import Image as DocxImage
from PIL import Image, ImageCms, ImageDraw, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image

MARKERS = {
    "comment": b"comment-leak@example.com",
    "exif": b"exif-leak@example.com",
    "xmp": b"xmp-leak@example.com",
    "iptc": b"iptc-leak@example.com",
    "icc": b"icc-leak@example.tst",
    "text": b"text-leak@example.com",
}
LATITUDE = (IFDRational(52, 1), IFDRational(22, 1), IFDRational(1234, 100))
JPEG_ALLOWED = {0xD8, 0xE0, 0xEE, 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD, 0xDA, 0xD9}
"""SOI, APP0 (JFIF), APP14 (Adobe), DQT, SOF0-2, DHT, DRI, SOS, EOI: what a decoder needs, nothing about the photo."""
PNG_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"sRGB", b"gAMA", b"cHRM", b"pHYs"}


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = MARKERS["exif"].decode()  # Artist
    exif[0x010E] = MARKERS["exif"].decode()  # ImageDescription
    exif.get_ifd(0x8825).update({1: "N", 2: LATITUDE, 3: "E", 4: LATITUDE})  # GPS
    return exif


def _xmp() -> bytes:
    return (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description>'
        + MARKERS["xmp"]
        + b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def _icc() -> bytes:
    """A valid sRGB profile whose description says the marker (same length, so the profile stays well formed)."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    described = "sRGB built-in".encode("utf-16-be")
    assert described in profile
    return profile.replace(described, MARKERS["icc"][: len("sRGB built-in")].decode().encode("utf-16-be"))


def _pixels(size=(900, 700)) -> Image.Image:
    image = Image.new("RGB", size, (200, 190, 170))
    draw = ImageDraw.Draw(image)
    for step in range(0, size[0], 60):
        draw.line((step, 0, size[0] - step, size[1]), fill=(90, 80, 70), width=5)
    return image


def _iptc() -> bytes:
    """An IPTC record (in a Photoshop APP13 block, as cameras and DAMs write it) naming the marker."""
    record = b"\x1c\x02\x50" + struct.pack(">H", len(MARKERS["iptc"])) + MARKERS["iptc"]  # 2:80 By-line
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    return b"Photoshop 3.0\x00" + resource


def jpeg_upload(icc: bool = True) -> bytes:
    buffer = io.BytesIO()
    profile = {"icc_profile": _icc()} if icc else {}
    _pixels().save(buffer, "JPEG", quality=92, exif=_exif(), comment=MARKERS["comment"], xmp=_xmp(), **profile)
    data = buffer.getvalue()
    app13 = b"\xff\xed" + struct.pack(">H", len(_iptc()) + 2) + _iptc()
    return data[:2] + app13 + data[2:]  # IPTC right after SOI


def png_upload(icc: bool = True) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MARKERS["text"].decode())
    info.add_text("Comment", MARKERS["comment"].decode(), zip=True)  # zTXt
    info.add_itxt("XML:com.adobe.xmp", _xmp().decode())
    buffer = io.BytesIO()
    profile = {"icc_profile": _icc()} if icc else {}
    _pixels().save(buffer, "PNG", pnginfo=info, exif=_exif(), **profile)
    return buffer.getvalue()


def webp_upload() -> bytes:
    buffer = io.BytesIO()
    _pixels().save(buffer, "WEBP", quality=90, exif=_exif(), xmp=_xmp(), icc_profile=_icc())
    return buffer.getvalue()


def tiff_upload() -> bytes:
    buffer = io.BytesIO()
    info = {270: MARKERS["text"].decode(), 315: MARKERS["exif"].decode(), 700: _xmp(), 33723: _iptc()}
    _pixels().save(buffer, "TIFF", tiffinfo=info, icc_profile=_icc())
    return buffer.getvalue()


def gif_upload() -> bytes:
    buffer = io.BytesIO()
    _pixels().convert("P").save(buffer, "GIF", comment=MARKERS["comment"])
    return buffer.getvalue()


def heic_upload() -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    _pixels().save(buffer, "HEIF", quality=90, exif=_exif().tobytes(), xmp=_xmp())
    return buffer.getvalue()


UPLOADS = {
    "JPEG": jpeg_upload,
    "JPEG without ICC": lambda: jpeg_upload(icc=False),  # no colour conversion: the decoded image goes on as it is
    "PNG": png_upload,
    "PNG without ICC": lambda: png_upload(icc=False),
    "WebP": webp_upload,
    "TIFF": tiff_upload,
    "GIF": gif_upload,
    "HEIC": heic_upload,
}


def jpeg_segments(data: bytes) -> list[int]:
    """The marker of every segment of a JPEG, up to its scan."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [0xD8], 2
    while at < len(data):
        assert data[at] == 0xFF, f"no marker at {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # the scan: entropy-coded data follows
            break
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_every_upload_carries_its_markers():
    """The uploads are what the test says: each marker is in the file (else the test below proves nothing)."""
    for name, make in UPLOADS.items():
        data = make()
        carried = [
            key for key, marker in MARKERS.items() if marker in data or marker.decode().encode("utf-16-be") in data
        ]
        assert carried, f"{name} carries no marker"
    assert all(marker in jpeg_upload() for key, marker in MARKERS.items() if key not in ("icc", "text"))


@pytest.mark.parametrize("kind", [ImageKind.PHOTO, ImageKind.DRAWING], ids=["photo (JPEG)", "drawing (PNG)"])
@pytest.mark.parametrize("format", list(UPLOADS))
def test_no_metadata_leaves_in_what_is_sent(format, kind):
    preparation = prepare_image(UPLOADS[format](), f"upload.{format.split()[0].lower()}", kind=kind)
    for image in preparation.images:
        data = image.data
        for key, marker in MARKERS.items():
            assert marker not in data and marker[:13].decode().encode("utf-16-be") not in data, (
                f"the {key} marker of the {format} upload was sent"
            )
        if image.mime == "image/jpeg":
            extra = sorted(set(jpeg_segments(data)) - JPEG_ALLOWED)
            assert not extra, f"metadata segments sent: {[hex(marker) for marker in extra]}"
        else:
            assert image.mime == "image/png"
            extra = sorted(set(png_chunks(data)) - PNG_ALLOWED)
            assert not extra, f"metadata chunks sent: {extra}"


def _photo_jpeg(size=(960, 1280), **options) -> bytes:
    buffer = io.BytesIO()
    _pixels(size).save(buffer, "JPEG", quality=90, comment=MARKERS["comment"], exif=_exif(), xmp=_xmp(), **options)
    return buffer.getvalue()


def _without_jfif(data: bytes) -> bytes:
    """A JPEG as cameras write it: EXIF first, no JFIF header."""
    assert data[2:4] == b"\xff\xe0"
    return data[:2] + data[4 + struct.unpack(">H", data[4:6])[0] :]


@pytest.mark.parametrize(
    ("progressive", "camera"), [(False, False), (True, False), (False, True)], ids=["baseline", "progressive", "camera"]
)
def test_a_jpeg_that_needs_no_change_is_sent_as_its_own_bytes_without_metadata(progressive, camera):
    upload = _photo_jpeg(progressive=progressive)
    upload = _without_jfif(upload) if camera else upload
    preparation = prepare_image(upload, "site.jpg", kind=ImageKind.PHOTO)
    [sent] = preparation.images
    assert (sent.width, sent.height) == (960, 1280) and sent.mime == "image/jpeg"
    assert len(sent.data) <= len(upload), "never larger than the upload"
    with Image.open(io.BytesIO(upload)) as original, Image.open(io.BytesIO(sent.data)) as received:
        assert received.tobytes() == original.tobytes(), "the same coded data: no second generation"
    assert set(jpeg_segments(sent.data)) <= JPEG_ALLOWED
    assert not any(marker in sent.data for marker in MARKERS.values())
    assert any("not re-encoded" in note for note in preparation.notes), "the report says how it was sent"
    assert sent.data[6:11] == b"JFIF\0", "JFIF first, where python-docx and other readers look for the kind of JPEG"
    DocxImage.from_blob(sent.data)  # the Word report can hold it


@pytest.mark.parametrize(
    "options",
    [{"icc_profile": "icc"}, {"exif": "rotated"}, {"size": (2000, 1500)}],
    ids=["an ICC profile to convert", "EXIF orientation 6", "larger than the model sees"],
)
def test_a_jpeg_that_needs_a_change_is_encoded_again_without_metadata(options):
    if options.get("icc_profile"):
        upload = _photo_jpeg(icc_profile=_icc())
    elif options.get("exif"):
        exif = _exif()
        exif[0x0112] = 6
        buffer = io.BytesIO()
        _pixels((960, 1280)).save(buffer, "JPEG", quality=90, exif=exif, comment=MARKERS["comment"])
        upload = buffer.getvalue()
    else:
        upload = _photo_jpeg(size=options["size"])
    preparation = prepare_image(upload, "site.jpg", kind=ImageKind.PHOTO)
    [sent] = preparation.images
    assert not any("not re-encoded" in note for note in preparation.notes)
    assert set(jpeg_segments(sent.data)) <= JPEG_ALLOWED
    assert not any(marker in sent.data for marker in MARKERS.values())
