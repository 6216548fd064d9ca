"""What judging and checking a report file costs. Prints numbers; asserts nothing timed.

Times records.files.inspect_upload (magic bytes, pypdf or a full Pillow decode, SHA-256)
for files of several kinds and sizes, and the SHA-256 re-check a local download makes:

    SECRET_KEY=x .venv/bin/python bench/records_bench.py --repeat 5
"""

import argparse
import hashlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from PIL import Image  # noqa: E402
from pypdf import PdfWriter  # noqa: E402

from records.files import inspect_upload  # noqa: E402

LIMIT = 10 * 1024 * 1024


def pdf(pages: int, padding: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if padding:
        writer.add_attachment("scan.bin", os.urandom(padding))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image(fmt: str, side: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format=fmt)
    return buffer.getvalue()


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _inspect(data: bytes, content_type: str) -> object:
    return inspect_upload(SimpleUploadedFile("f", data, content_type=content_type), limit=LIMIT)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples = {
        "pdf 1 page": (pdf(1, 0), "application/pdf"),
        "pdf 50 pages": (pdf(50, 0), "application/pdf"),
        "pdf 9.5 MB": (pdf(1, int(9.5 * 1024 * 1024)), "application/pdf"),
        "png 1000x1000 (noise)": (image("PNG", 1000), "image/png"),
        "jpeg 2000x2000 (noise)": (image("JPEG", 2000), "image/jpeg"),
    }
    print(f"{'file':<24} {'size':>10} {'inspect median ms':>18} {'max ms':>8} {'sha256 ms':>10}")
    for name, (data, content_type) in samples.items():
        inspect = timed(partial(_inspect, data, content_type), args.repeat)
        digest = timed(partial(_digest, data), args.repeat)
        print(
            f"{name:<24} {len(data):>10} {statistics.median(inspect):>18.1f} {max(inspect):>8.1f}"
            f" {statistics.median(digest):>10.1f}"
        )


if __name__ == "__main__":
    main()
