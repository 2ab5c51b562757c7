"""The one exception type that means "the user gave us something wrong".

Command-line entry points turn it into a single line on stderr and exit code 2
(see `adain.cli.common`); everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: a path, a value, a file. Message is one line."""

    exit_code = 2  # what the command line exits with (a subclass may say otherwise)
