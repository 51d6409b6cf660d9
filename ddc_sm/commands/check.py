"""``ddc-sm check``: print the lint of :mod:`ddc_sm.simfiles.lint` as text lines or JSON."""

from __future__ import annotations

import json
import sys

from ddc_sm.errors import UserError
from ddc_sm.simfiles.lint import check_paths, summarize


def run_check(paths, as_json: bool = False, out=None, strict: bool = False) -> int:
    """Lint ``paths`` and print one line per problem (or JSON); 1 when any error (or, ``strict``, any
    warning), else 0."""
    out = out or sys.stdout
    problems, n_files = check_paths(paths)
    if not n_files:
        raise UserError("no .sm or .ssc files found in " + ", ".join(str(p) for p in paths))
    summary = summarize(problems, n_files)
    if as_json:
        json.dump({"problems": [p.to_dict() for p in problems], "summary": summary}, out, indent=2)
        out.write("\n")
    else:
        for p in problems:
            out.write(p.format() + "\n")
        out.write(f"{n_files} simfile{'s' if n_files != 1 else ''} checked: {summary['errors']} error"
                  f"{'s' if summary['errors'] != 1 else ''}, {summary['warnings']} warning"
                  f"{'s' if summary['warnings'] != 1 else ''}\n")
    return 1 if summary["errors"] or (strict and summary["warnings"]) else 0
