from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tooling.access import render_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "access-control.md"


class Command(BaseCommand):
    help = "Render the API's access-control table (tooling/access.py) into docs/access-control.md."

    def handle(self, *args: object, **options: object) -> None:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(render_markdown())
        self.stdout.write(f"Wrote {DOC.relative_to(settings.BASE_DIR)}")
