"""Everything that speaks python-telegram-bot: application, handlers, sender."""
