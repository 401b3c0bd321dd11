"""The one exception type for bad user input, shared by every layer.

The CLI turns a `SatrnnInputError` into a single line on stderr and exit code 2.
"""


class SatrnnInputError(ValueError):
    """Bad input supplied by the user (file, text, option value). Message is one line."""
