"""The exception hierarchy: every error a user can cause carries structured fields."""

from __future__ import annotations


class MemberkitError(Exception):
    """Base of all errors memberkit raises on purpose."""


class ReasonedError(MemberkitError):
    """An error a page reports in the reader's language: ``reason`` names a catalogue entry
    (``why.<reason>``) and ``values`` fill it; ``str()`` stays the English message for logs."""

    def __init__(self, message: str, reason: str | None = None, **values):
        super().__init__(message)
        self.reason, self.values = reason, values


LISTED = 20   # a message lists at most this many items, then counts the rest


def listed(items, limit: int = LISTED, sep: str = ", ") -> str:
    """``items`` (strings) joined with ``sep``, cut after ``limit`` with the count of the rest:
    ``"a, b, ... and 10,837 more"``."""
    items = list(items)
    shown = sep.join(items[:limit])
    return shown + (f" ... and {len(items) - limit:,} more" if len(items) > limit else "")


class ConfigError(MemberkitError):
    """A parameter or config file is wrong."""


class InputError(MemberkitError):
    """An input file does not fit the canonical table it is mapped onto.

    Attributes
    ----------
    file, table, column, rule : where and what
    examples : the first offending rows, as a list of dicts (source row number included)
    """

    def __init__(self, file: str, table: str, column: str | None, rule: str, detail: str = "",
                 examples: list[dict] | None = None):
        self.file, self.table, self.column, self.rule = file, table, column, rule
        self.detail, self.examples = detail, examples or []
        where = f"{file} (table {table}" + (f", column {column}" if column else "") + ")"
        msg = f"{where}: {rule}" + (f" - {detail}" if detail else "")
        if self.examples:
            msg += "\n  first offending rows:\n" + "\n".join(f"    {e}" for e in self.examples)
        super().__init__(msg)


class NotebookFailed(MemberkitError):
    """A notebook raised while the runner executed it."""

    def __init__(self, name: str, cell: int | None, ename: str, evalue: str):
        self.name, self.cell, self.ename, self.evalue = name, cell, ename, evalue
        super().__init__(f"{name}: cell {cell} raised {ename}: {evalue}")


class Problems(MemberkitError):
    """Every problem the checks before a run found, reported at once (the run exits with 2).

    Attributes
    ----------
    problems : list of ConfigError / InputError, in the order the checks found them
    """

    def __init__(self, problems: list[MemberkitError]):
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) found before any report ran:"]
        lines += [f"  {i}. " + str(p).replace("\n", "\n     ") for i, p in enumerate(self.problems, 1)]
        super().__init__("\n".join(lines))
