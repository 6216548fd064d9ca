"""Run a console script at a given instant: `python clock_process.py ISO-INSTANT SCRIPT ARGS...`.

How a test's daphne or Celery worker shares the test's clock (tests/clock.py): the
clock travels (ticking) before the script's first import, so tokens, leases and
expiries are judged at the same time on both sides.
"""

import os
import runpy
import sys
from datetime import datetime

import time_machine

if __name__ == "__main__":
    instant, script, *arguments = sys.argv[1:]
    time_machine.travel(datetime.fromisoformat(instant), tick=True).start()
    # As if the script were started itself: its own folder first, never tests/ (whose
    # packages are named like the apps).
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")
