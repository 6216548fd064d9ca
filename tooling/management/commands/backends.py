from django.core.management.base import BaseCommand

from config.backends import backend_summary


class Command(BaseCommand):
    help = "Show which integrations are real and which embedded defaults stand in."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write("Backends in use:")
        for name, description in backend_summary():
            self.stdout.write(f"  {name:<18} {description}")
