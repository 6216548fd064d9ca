"""Judging an uploaded file by its content: size, type, structure, name, digest.

The client's file name and Content-Type decide nothing. A file is a PDF, PNG or JPEG only
when its first bytes say so and the matching parser reads it whole; anything else is
refused before a byte is stored.
"""

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from core.exceptions import DomainError, ValidationFailed


class FileTooLarge(DomainError):
    status_code = 413
    code = "file_too_large"
    default_detail = "The file is larger than allowed."


class FileTypeRefused(DomainError):
    status_code = 415
    code = "unsupported_file_type"
    default_detail = "Only PDF, PNG and JPEG files are accepted."


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str
    magic: bytes


PDF = FileKind("application/pdf", ".pdf", b"%PDF-")
PNG = FileKind("image/png", ".png", b"\x89PNG\r\n\x1a\n")
JPEG = FileKind("image/jpeg", ".jpg", b"\xff\xd8\xff")
KINDS = (PDF, PNG, JPEG)

# Declared types that say nothing about the content (browsers send these for unknown files).
_UNINFORMATIVE_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops an upload as soon as a file passes `limit` bytes, before the rest is read.

    Put first in the request's upload handlers; the later handlers (memory or temporary
    file) only ever see bytes within the limit.
    """

    def __init__(self, limit: int, request: Any = None) -> None:
        super().__init__(request)
        self.limit = limit

    def handle_raw_input(
        self, input_data: Any, META: dict, content_length: int, boundary: Any, encoding: str | None = None
    ) -> None:
        # The multipart envelope adds a little around the file; a body far beyond the
        # limit is refused without reading it.
        if content_length and content_length > self.limit + 64 * 1024:
            raise FileTooLarge()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            raise FileTooLarge()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@dataclass(frozen=True)
class InspectedFile:
    kind: FileKind
    data: bytes
    size: int
    sha256: str
    filename: str


def _read_within(upload: UploadedFile, limit: int) -> bytes:
    """The upload's bytes, refusing (413) as soon as more than `limit` have been read."""
    buffer = io.BytesIO()
    for chunk in upload.chunks():
        if buffer.tell() + len(chunk) > limit:
            raise FileTooLarge()
        buffer.write(chunk)
    return buffer.getvalue()


def _kind_of(data: bytes) -> FileKind:
    for kind in KINDS:
        if data.startswith(kind.magic):
            return kind
    raise FileTypeRefused()


def _check_declared_type(kind: FileKind, declared: str | None) -> None:
    declared = (declared or "").split(";")[0].strip().lower()
    declared = _TYPE_ALIASES.get(declared, declared)
    if declared not in _UNINFORMATIVE_TYPES and declared != kind.content_type:
        raise FileTypeRefused(
            f"The file's content is {kind.content_type}, not {declared}.", code="content_type_mismatch"
        )


def _corrupt(kind: FileKind) -> ValidationFailed:
    return ValidationFailed(
        "The file is damaged or incomplete.",
        code="corrupt_file",
        fields={"file": [f"Not a readable {kind.extension[1:].upper()} file."]},
    )


def _check_pdf(data: bytes) -> None:
    if not re.match(rb"%PDF-[12]\.\d", data) or b"%%EOF" not in data[-2048:]:
        raise _corrupt(PDF)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) < 1:
            raise _corrupt(PDF)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise _corrupt(PDF) from exc


def _check_image(kind: FileKind, data: bytes) -> None:
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            # verify() leaves the image unusable; decoding it fully catches truncation.
            with Image.open(io.BytesIO(data)) as image:
                if (image.format or "").lower() not in {"png", "jpeg", "mpo"}:
                    raise _corrupt(kind)
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _corrupt(kind) from exc
    except Image.DecompressionBombWarning as exc:
        raise _corrupt(kind) from exc


def sanitise_filename(name: str, kind: FileKind) -> str:
    """A safe download name: no path, no control or shell characters, the right extension."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[^\w\- ]+", "_", stem, flags=re.ASCII)
    stem = re.sub(r"[\s_]+", "_", stem).strip("._- ")[:100]
    return f"{stem or 'report'}{kind.extension}"


def inspect_upload(upload: UploadedFile, *, limit: int) -> InspectedFile:
    """Read and judge an upload; raises FileTooLarge (413), FileTypeRefused (415) or
    ValidationFailed (400: empty, truncated or damaged)."""
    if upload.size is not None and upload.size > limit:
        raise FileTooLarge()
    data = _read_within(upload, limit)
    if not data:
        raise ValidationFailed("The file is empty.", code="empty_file", fields={"file": ["The file is empty."]})
    kind = _kind_of(data)
    _check_declared_type(kind, upload.content_type)
    if kind is PDF:
        _check_pdf(data)
    else:
        _check_image(kind, data)
    return InspectedFile(
        kind=kind,
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        filename=sanitise_filename(upload.name or "", kind),
    )
