"""Everything that speaks python-telegram-bot: application, handlers, sender."""

import os

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta)
# now: our code already reads both, and it silences a deprecation warning on
# every flood wait.
os.environ.setdefault("PTB_TIMEDELTA", "1")
