"""`python -m bot` is `evbot`."""

from bot.cli import main

main()
