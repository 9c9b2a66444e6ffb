"""The two ways a build stops: the data cannot be used, or a step of the build failed."""
from __future__ import annotations


class DataError(ValueError):
    """The file cannot be used; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))

    def __reduce__(self):  # raised in another process and re-raised here, problems intact
        return type(self), (self.problems,)


class BuildError(RuntimeError):
    """A build failed; the message says where (chapter, cell) and why, in one line or a few."""


class TableProblem(Exception):
    """The file is not a usable table; the message (one sentence, without the file's name)
    is for the user."""


class EvidenceError(DataError):
    """The evidence file is not valid; ``problems`` holds one line per problem (a
    :class:`DataError`, so that it crosses a process boundary and is printed as the data's
    problems are)."""
