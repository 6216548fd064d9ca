"""`python manage.py export_contracts`: regenerate frontend_contracts/ from the code (`make schema`)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tooling.contracts import default_directory, render_all


class Command(BaseCommand):
    help = "Write the public contracts (OpenAPI, AsyncAPI, JSON Schemas, TypeScript types) into frontend_contracts/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output-dir", type=Path, default=None, help="Where to write (default: frontend_contracts/)."
        )
        parser.add_argument(
            "--check", action="store_true", help="Write nothing; fail when a committed file differs from the code."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["output_dir"] or default_directory()
        stale: list[str] = []
        for name, text in render_all().items():
            path = directory / name
            if options["check"]:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(name)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {path}")
        if stale:
            raise CommandError(f"Stale contracts in {directory}: {', '.join(stale)}. Run `make schema` and commit.")
