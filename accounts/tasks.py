"""Accounts' background work: thin tasks that call services."""

from celery import shared_task

from accounts import services


@shared_task(name="accounts.tasks.purge_dead_tokens")
def purge_dead_tokens() -> int:
    """Daily (beat): drop tokens that expired or were revoked a while ago."""
    return services.token_purge_dead()
