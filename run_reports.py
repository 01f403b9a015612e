#!/usr/bin/env python
"""Run every member analytics report for a month: see `python run_reports.py --help`."""
import sys

from memberkit.runner import main

if __name__ == "__main__":
    sys.exit(main())
