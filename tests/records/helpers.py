"""Helpers of the records tests (import them from here; fixtures stay in conftest.py)."""

import io
from datetime import UTC, datetime
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

PAST = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(data: bytes, name: str = "scan.pdf", content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(location: Path) -> list[Path]:
    return [p for p in location.rglob("*") if p.is_file()] if location.exists() else []


MEDICATIONS = [
    {"name": "Amoxicillin", "dosage": "500 mg", "frequency": "3 times a day", "duration_days": 7, "notes": ""},
    {"name": "Ibuprofen", "dosage": "200 mg", "frequency": "as needed", "duration_days": 5, "notes": "with food"},
]
