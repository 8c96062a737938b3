"""`python -m bot` is `evbot`."""

from bot.cli.main import main

main()
