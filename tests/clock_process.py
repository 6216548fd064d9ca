"""Run a script in a test's clock and clinic time zone:
`python clock_process.py ISO-INSTANT ZONE SCRIPT ARGS...` ("-" for the real time, or for the
registered default zone).

How a test's daphne, relay or Celery worker shares the test's clock and zone
(tests/clock.py, `in_test_clock`): the clock travels (ticking) before the script's first
import, so tokens, leases and expiries are judged at the same time on both sides; the
zone is made the clinic's default (after Django is set up: the registry is filled by the
apps) before the script runs, so both sides agree on the clinic's day.
"""

import os
import runpy
import sys
from datetime import datetime

import time_machine

if __name__ == "__main__":
    instant, zone, script, *arguments = sys.argv[1:]
    if instant != "-":
        time_machine.travel(datetime.fromisoformat(instant), tick=True).start()
    # As if the script were started itself: its own folder first, never tests/ (whose
    # packages are named like the apps).
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    if zone != "-":
        import django

        sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        from tests.clock import use_clinic_timezone

        use_clinic_timezone(zone)
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")
