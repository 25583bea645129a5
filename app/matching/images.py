"""Loading photos: only real image formats (decided from the bytes), EXIF orientation
applied, RGB out, and decompression bombs refused before they are decoded."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF (phones) through the pillow-heif plugin, when installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = {"HEIF"}
except ImportError:  # pragma: no cover - the plugin is in requirements.txt
    _HEIF = set()

# Formats a camera, phone or scanner produces; decided by Pillow from the content.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "TIFF", *_HEIF})
FILE_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "TIFF": "tif", "HEIF": "heic"}
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: above any real probe or booking photo
# A pixel flood: a small file declaring a huge image (a PNG of one colour at 49 MP is 143 KB and
# costs seconds of CPU to decode). Camera photos hold far more than this per pixel.
# Counted over the bytes that are image data (a PNG's IDAT chunks), not the file's size: a flood
# padded with ignored bytes (text chunks, a trailer) is still a flood.
FLOOD_CHECK_PIXELS = 8_000_000
MIN_BYTES_PER_PIXEL = 0.01
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def image_data_bytes(data: bytes, image_format: str) -> int:
    """How many of the file's bytes are compressed pixels: a PNG's IDAT chunks (walked from
    their headers, never decoded); for other formats the whole file."""
    if image_format != "PNG":
        return len(data)
    total, offset = 0, 8
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            total += length
        elif kind == b"IEND":
            break
        offset += 12 + length
    return total


class ImageError(Exception):
    """A photo that cannot be used, with a message a person can act on."""

    code = "image_error"
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnreadableImageError(ImageError):
    code = "unreadable"


class NotAnImageError(ImageError):
    code = "not_an_image"


class UnsupportedFormatError(ImageError):
    code = "unsupported_format"


class ImageTooLargeError(ImageError):
    code = "too_large"


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # H x W x 3, uint8, RGB, upright
    format: str
    width: int
    height: int
    exif_orientation: int  # 1 when none; the transpose has been applied

    @property
    def pil(self) -> Image.Image:
        return Image.fromarray(self.pixels)


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageTooLargeError(
                f"The file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB."
            )
        return path.read_bytes()
    except ImageTooLargeError:
        raise
    except FileNotFoundError as exc:
        raise UnreadableImageError(f"The file {path.name} does not exist.") from exc
    except OSError as exc:
        raise UnreadableImageError(f"The file {path.name} cannot be read ({exc.strerror}).") from exc


def load_image(
    data: bytes | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedImage:
    """Decode ``data`` into an upright RGB array, or raise an ``ImageError``."""
    if isinstance(data, Path):
        data = read_bytes(data, max_bytes)
    if len(data) == 0:
        raise NotAnImageError("The file is empty.")
    if len(data) > max_bytes:
        raise ImageTooLargeError(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB."
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it; here any excess is an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or "unknown"
            if image_format not in ALLOWED_FORMATS:
                raise UnsupportedFormatError(
                    f"{image_format} images are not accepted; use JPEG, PNG, TIFF or HEIC."
                )
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
                    f"the limit is {max_pixels / 1e6:.0f} MP."
                )
            held = image_data_bytes(data, image_format)
            if width * height > FLOOD_CHECK_PIXELS and held < MIN_BYTES_PER_PIXEL * width * height:
                raise ImageTooLargeError(
                    f"The image declares {width}x{height} pixels but holds only {held / 1e3:.0f} KB of "
                    "image data: it is not a camera photo (a decompression bomb)."
                )
            image.load()
            orientation = image.getexif().get(0x0112, 1) if hasattr(image, "getexif") else 1
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB") if upright.mode != "RGB" else upright
            pixels = np.asarray(rgb, dtype=np.uint8).copy()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError("The image declares more pixels than the portal will decode.") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImageError("The file is not an image in a format the portal reads.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Truncated or corrupt data surfaces as OSError ("image file is truncated") and kin.
        raise UnreadableImageError(f"The image is damaged and cannot be decoded ({exc}).") from exc
    return LoadedImage(
        pixels=pixels,
        format=image_format,
        width=pixels.shape[1],
        height=pixels.shape[0],
        exif_orientation=int(orientation) if isinstance(orientation, int) else 1,
    )


# --- encoding: the one place pixels become image bytes ------------------------------------------


def downscaled(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """A copy no larger than ``max_side`` on its longer side (the same array if already so)."""
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


LOSSLESS_UP_TO = 4_000_000  # pixels: an evidence view this size or smaller is sent as PNG


def encode_evidence(pixels: np.ndarray) -> tuple[bytes, str]:
    """A photo at its full resolution for the examiner's view: lossless (PNG) up to 4 MP; above
    that a JPEG at quality 95 with full colour resolution (4:4:4), visually lossless at a fifth
    of the size, so a 24 MP probe opens in a second on the intranet."""
    if pixels.shape[0] * pixels.shape[1] <= LOSSLESS_UP_TO:
        return encode_png(pixels), "image/png"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95, subsampling=0, optimize=False)
    return buffer.getvalue(), "image/jpeg"


def encode_jpeg(pixels: np.ndarray, *, quality: int = 90, max_side: int | None = None) -> bytes:
    """A fresh JPEG of the pixels (no EXIF, nothing hidden); the same input gives the same bytes."""
    if max_side is not None:
        image = Image.fromarray(pixels)
        image.thumbnail((max_side, max_side))  # keeps the aspect ratio, never enlarges
    else:
        image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=False)
    return buffer.getvalue()
