"""Records' background work: thin tasks that call services."""

from celery import shared_task

from records.retention import records_purge_expired


@shared_task(name="records.tasks.purge_expired_records", ignore_result=True)
def purge_expired_records() -> int:
    """Daily (beat): remove deleted records past their retention, with their files."""
    return records_purge_expired()
