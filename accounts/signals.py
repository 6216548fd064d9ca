"""What accounts announces to the apps built on it.

Accounts imports none of those apps (dependencies run one way). An app that keeps data
about a user connects its own service to these signals in its AppConfig.ready, and so
takes part in the change explicitly: see `notifications/receivers.py`.
"""

from django.dispatch import Signal

# Sent inside `accounts.services.user_deactivate`'s transaction, with `user`: erase what
# you keep about them. A receiver that fails rolls the deletion back.
user_deactivated = Signal()
