"""Everything that speaks python-telegram-bot.

- `app`          builds the Application (HTML by default, our context type), registers
                 every handler and the command menu, starts and stops long polling
- `context`      `Services` and `BotContext` (`context.svc`, `context.chat`)
- `gates`        what runs first: flood control, loading the chat, group-admin checks
- `commands`     /start, /help, /categories, (un)subscribe, /settings, pause, /lang, /latest
- `preferences`  /keywords, /digest, /quiet, /timezone, /preview
- `topics`       /topics: a forum group's topic per category
- `admin`        /stats, /feeds, /reload, /broadcast (EVBOT_ADMIN_IDS only)
- `membership`   the bot added to or removed from chats, group migrations
- `channels`     /channel add|list|remove, a channel's picker, losing a channel
- `buttons`      picker toggles, Why?, /latest's "more"
- `callbacks`    every callback-data format, built and parsed in one place
- `keyboards`, `replies`, `category_names`, `throttle`, `errors`, `sender`  the pieces
"""

import os

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta)
# now: our code already reads both, and it silences a deprecation warning on
# every flood wait.
os.environ.setdefault("PTB_TIMEDELTA", "1")
