"""Photos in and out: decode, colour-manage, preview, encode; every failure is one typed error.

One file per job: ``errors``, ``formats``, ``limits``, ``photo`` (the :class:`Photo` value),
``icc``, ``exif``, ``resize``, ``decode``, ``raw`` (camera RAW through LibRaw) and ``encode``; this
package hands on the names other modules use.

Working space
-------------
Everything downstream (the model, the bilateral-grid apply, previews, exports) works on
**sRGB-encoded** values, as the model was trained: ``Photo.pixels`` is ``(H, W, 3)`` uint8 or
uint16, C-contiguous, with sRGB primaries, D65 white and the sRGB transfer curve, already
rotated upright (EXIF orientation applied). A source with an embedded ICC profile that is not
sRGB (Adobe RGB, Display P3, ProPhoto, a CMYK press profile, a grey gamma profile...) is
converted to sRGB with LittleCMS on load: Pillow ``ImageCms`` for 8-bit pictures, LittleCMS'
floating-point transform through ``imagecodecs`` for 16-bit ones (Pillow has no 16-bit RGB
mode). The rendering intent is perceptual (LittleCMS falls back to relative colorimetric for
matrix/TRC profiles, which is what Adobe RGB and Display P3 are); colours outside sRGB are
clipped. A source without a profile is taken to be sRGB. RAW files are demosaicked straight
into sRGB by LibRaw (see :mod:`model.imaging.raw`).

The public surface other modules use
------------------------------------
``load_photo(path) -> Photo``            full-quality decode (RAW: full 16-bit demosaic)
``load_preview(path, max_size) -> Photo`` fast first picture (JPEG DCT scaling, RAW thumbnail)
``load_proxy(path, 512) -> ndarray``      the model's input alone, decoded the same fast way
``save_photo(path, pixels_or_photo, fmt, quality, exif=, icc=, alpha=, ...) -> Path``
``make_proxy(pixels, 512)`` / ``make_preview(pixels, max_size)`` / ``to_float(pixels)``
``is_supported(path)`` / ``SUPPORTED_EXTENSIONS`` / ``RAW_EXTENSIONS`` / ``FORMATS``
``PhotoError`` and its subclasses (``except PhotoError`` catches every I/O failure).

The intended call pattern for GUI and batch::

    photo = load_photo(src)                       # raises PhotoError subclasses
    edited = apply_prediction(photo.pixels, ...)  # same dtype and shape
    save_photo(dst, edited, "jpeg", 92, alpha=photo.alpha, exif=photo.exif, icc=photo.icc,
               source=photo.path)                 # or simply save_photo(dst, replace(photo, pixels=edited))
"""

from retouch_studio.model.imaging.decode import load_photo, load_preview, load_proxy
from retouch_studio.model.imaging.encode import save_photo
from retouch_studio.model.imaging.errors import (
    CorruptPhotoError,
    EmptyFileError,
    NotAnImageError,
    PhotoError,
    PhotoExistsError,
    PhotoNotFoundError,
    PhotoWriteError,
    SourceOverwriteError,
    TooLargeError,
    UnsupportedPhotoError,
)
from retouch_studio.model.imaging.formats import (
    FORMATS,
    RASTER_EXTENSIONS,
    RAW_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    is_raw,
    is_supported,
    resolve_format,
)
from retouch_studio.model.imaging.icc import srgb_profile
from retouch_studio.model.imaging.limits import MAX_PIXELS
from retouch_studio.model.imaging.photo import Photo
from retouch_studio.model.imaging.resize import make_preview, make_proxy, to_float

__all__ = [
    "Photo", "PhotoError", "PhotoNotFoundError", "EmptyFileError", "NotAnImageError", "CorruptPhotoError",
    "UnsupportedPhotoError", "TooLargeError", "PhotoExistsError", "SourceOverwriteError", "PhotoWriteError",
    "MAX_PIXELS", "RASTER_EXTENSIONS", "RAW_EXTENSIONS", "SUPPORTED_EXTENSIONS", "FORMATS", "is_supported",
    "is_raw", "resolve_format", "load_photo", "load_preview", "load_proxy", "save_photo", "make_proxy", "make_preview",
    "to_float", "srgb_profile",
]
