"""The one exception type for bad user input, shared by every layer.

The CLI turns a `SatrnnInputError` into a single line on stderr and exit code 2.
"""


class SatrnnInputError(ValueError):
    """Bad input supplied by the user (file, text, option value). Message is one line."""


class SatrnnRunError(RuntimeError):
    """A run that was started with good input but could not complete (a locked or full store, jobs that
    failed). Message is one line; the CLI prints it on stderr and exits with code 1."""
