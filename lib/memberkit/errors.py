"""The exception hierarchy: every error a user can cause carries structured fields."""

from __future__ import annotations

import re


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


# pydantic's words before a validator's own message ("Value error, tier thresholds must rise ...")
_PYDANTIC_PREFIX = re.compile(r"(?<=: )(?:Value error|Assertion failed), ")
# a block that names one problem: "parameters of rfm_segmentation: 1 problem(s)" and its one item
_ONE_PROBLEM = re.compile(r"\A(?P<where>[^\n]*): 1 problem\(s\)\n[ \t]*- (?P<item>[^\n]*)\Z")


def plain_message(message: str) -> str:
    """A configuration problem as a reader should see it: without pydantic's ``Value error,`` (or
    ``Assertion failed,``) before a validator's own words, and a block that lists one problem
    written on one line.

    >>> plain_message("parameters of rfm_segmentation: 1 problem(s)\\n  - tier_thresholds: Value error, must rise")
    'parameters of rfm_segmentation: tier_thresholds: must rise'
    >>> print(plain_message("shared settings: 2 problem(s)\\n  - a: Value error, x\\n  - b: y"))
    shared settings: 2 problem(s)
      - a: x
      - b: y
    """
    message = _PYDANTIC_PREFIX.sub("", str(message))
    one = _ONE_PROBLEM.match(message)
    return f"{one['where']}: {one['item']}" if one else message


class ConfigError(MemberkitError):
    """A parameter or config file is wrong. Its message is the one place a configuration problem is
    worded for the reader (:func:`plain_message`): the command line and a notebook print it as it is."""

    def __init__(self, message: str = ""):
        super().__init__(plain_message(message))


class InputError(MemberkitError):
    """An input file does not fit the canonical table it is mapped onto.

    Attributes
    ----------
    file, table, column, rule : where and what
    examples : the first offending rows, as a list of dicts with the source row number ``_row``; ``_row`` is
        None where the row number does not find the row in its source (a database table read without an
        order: :func:`memberkit.sources.example_rows`), and the message then says that row numbers are not
        available instead of showing numbers of the kit's own order
    """

    def __init__(self, file: str, table: str, column: str | None, rule: str, detail: str = "",
                 examples: list[dict] | None = None):
        self.file, self.table, self.column, self.rule = file, table, column, rule
        self.detail, self.examples = detail, examples or []
        where = file + (f" (table {table}" + (f", column {column}" if column else "") + ")" if table else "")
        msg = f"{where}: {rule}" + (f" - {detail}" if detail else "")
        if self.examples:
            untraced = any("_row" in e and e["_row"] is None for e in self.examples)
            shown = [{k: v for k, v in e.items() if k != "_row"} if untraced else e for e in self.examples]
            msg += ("\n  first offending rows" + (" (row numbers not available: read from a database without an "
                                                  "order; a query ending in ORDER BY a key, or a key, numbers them)"
                                                  if untraced else "") + ":\n"
                    + "\n".join(f"    {e}" for e in shown))
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
        if len(self.problems) == 1 and "\n" not in str(self.problems[0]):   # one problem: one line
            super().__init__(str(self.problems[0]))
            return
        lines = [f"{len(self.problems)} problem(s) found before any report ran:"]
        lines += [f"  {i}. " + str(p).replace("\n", "\n     ") for i, p in enumerate(self.problems, 1)]
        super().__init__("\n".join(lines))
