"""Errors that mean "the user asked for something wrong" rather than "the program broke".

The CLI turns a `UserError` into one line on stderr and exit code 2, never a traceback.
"""


class UserError(Exception):
    """Bad input (a value, a file, an unreachable endpoint) that the user can fix."""


class SourceUnavailable(UserError):
    """A market-data endpoint could not be reached or kept refusing us."""
