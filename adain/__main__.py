"""`python -m adain COMMAND ...`: the same as the `adain` command."""

from adain.cli import main

main()
