"""The options of ``delete`` and ``verify`` as tables, in the help groups an operator scans
(docs/cli.md), and the one rule for a duration given on the command line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bulkdelete.settings import DEFAULT_REGION, REGION_HOSTS
from bulkdelete.verify import DEFAULT_SAMPLE

Option = tuple[tuple[str, ...], dict[str, Any]]

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``10m`` or ``1h`` (a plain number is seconds). The range
    is Settings' to check, so an out-of-range time is refused naming its bounds."""
    raw = text.strip()
    unit = raw[-1:].lower() if raw[-1:].lower() in _UNITS else ""
    try:
        return float(raw[:len(raw) - len(unit)]) * _UNITS[unit]
    except ValueError:
        # ArgumentTypeError: argparse words it as a usage error naming the option.
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration such as 90s, 10m or 1h, got {text!r}") from None


def _opt(*flags: str, **kwargs: Any) -> Option:
    return flags, kwargs


def option_groups(command: str) -> list[tuple[str, list[Option]]]:
    """``delete``'s or ``verify``'s options, by help group, in the order ``--help`` shows
    them (a function: ``--account-id``'s default is the environment's, and the wording of
    a few options is the command's own)."""
    delete = command == "delete"
    progress = "an acknowledged batch" if delete else "a lookup answered gone or present"
    return [
        ("target and credentials", [
            _opt("--profile", metavar="NAME", default=os.environ.get("BULKDELETE_PROFILE")
                 or None, help="read the account ID, region or base URL and passcode file "
                 "from this profile of the config file (env BULKDELETE_PROFILE; docs/cli.md)"),
            _opt("--account-id", metavar="ID",
                 default=os.environ.get("CLEVERTAP_ACCOUNT_ID") or None,
                 help="CleverTap account ID (env CLEVERTAP_ACCOUNT_ID)"),
            _opt("--passcode-file", type=Path, metavar="PATH",
                 help="read the passcode from this file (default: env CLEVERTAP_PASSCODE)"),
            # No env defaults here: the flag, the environment and the default are weighed
            # in resolve_target, so a --region beats an exported CLEVERTAP_BASE_URL.
            _opt("--region", type=str.lower, choices=list(REGION_HOSTS),
                 help=f"env CLEVERTAP_REGION; default {DEFAULT_REGION}"),
            _opt("--base-url", metavar="URL", help="scheme://host[:port] instead of the "
                 "region (env CLEVERTAP_BASE_URL); http:// only to loopback"),
        ]),
        ("input", [
            _opt("--id-type", required=True, choices=["guid", "identity"],
                 help="required: the IDs are CleverTap IDs (guid) or identities (email, "
                 "phone, custom ID)"),
            _opt("--format", default="auto", choices=["auto", "lines", "csv", "jsonl"],
                 help="auto picks by extension: .csv, .jsonl/.ndjson, else lines "
                 "(default %(default)s)"),
            _opt("--column", metavar="NAME", help="CSV column or JSON field holding the ID"),
            _opt("--delimiter", metavar="C",
                 help="CSV delimiter, one character or 'tab' (default: sniffed from the "
                 "header among , ; tab |)"),
            _opt("--encoding", metavar="E", default="utf-8",
                 help="input encoding: cp1252 (a Windows export), latin-1, ... (default "
                 "%(default)s)"),
        ]),
        ("job files", [
            _opt("--checkpoint", type=Path, metavar="DIR",
                 help="the job's checkpoint folder (default: IDS_FILE.bulkdelete/)"),
            _opt("--failed", type=Path, metavar="PATH", help="IDs that could not be deleted "
                 "(default: failed.txt in the checkpoint folder)"),
            _opt("--report", type=Path, metavar="PATH", help="the job's JSON report "
                 "(default: report.json in the checkpoint folder)"),
            *([_opt("--restart", action="store_true",
                    help="discard an existing checkpoint and start the job over")]
              if delete else []),
        ]),
        ("pacing", [
            _opt("--concurrency", type=int, default=3, metavar="N",
                 help=f"ceiling on {'requests' if delete else 'lookups'} in flight, 1..64 "
                 "(default 3, the API's limit)"),
            *([_opt("--rate", type=float, metavar="PER_SECOND",
                    help="ceiling on requests per second (default: none)"),
               _opt("--batch-size", type=int, default=100, metavar="N",
                    help="IDs per request, 1..100 (default %(default)s)")] if delete else []),
            _opt("--timeout", type=parse_duration, default=30.0, metavar="SECONDS",
                 help="per-request timeout; 45, 45s, 2m (default 30s)"),
        ]),
        ("safety", [
            *([_opt("--dry-run", action="store_true",
                    help="read and validate everything, print the plan, send nothing"),
               _opt("--limit", type=int, metavar="N",
                    help="canary: delete exactly the next N IDs, then stop (a rerun continues)"),
               _opt("--max-delete", type=int, metavar="N",
                    help="refuse to start when this run would send more than N IDs"),
               _opt("--yes", action="store_true",
                    help="skip the confirmation (required when not on a terminal)"),
               _opt("--no-preflight", action="store_true",
                    help="skip the read-only credential check sent before the confirmation"),
               _opt("--baseline", type=int, default=100, metavar="N", help="a new job first "
                    "looks up a seeded sample of N of its IDs, read-only (default 100; 0 skips)"),
               _opt("--allow-absent", action="store_true",
                    help="go on when every sampled ID is absent")]
              if delete else []),
            _opt("--max-errors", metavar="N|N%", help="abort (exit 3) once this run has "
                 + ("failed N IDs" if delete else "N IDs whose lookup stayed unclear")
                 + ", or N%% of them (after 1,000)"),
            _opt("--stall-timeout", type=parse_duration, default=600.0, metavar="SECONDS",
                 help=f"abort (exit 3) after this long without {progress}; 90s, 10m, 1h "
                 "(default 10m)"),
        ]),
        *([] if delete else [("lookups", VERIFY_OPTIONS)]),
        ("output", [JSON_OPTION, *OUTPUT_OPTIONS]),
        ("audit trail", AUDIT_OPTIONS),
    ]


def command_options(command: str) -> list[Option]:
    """Every option of ``delete`` or ``verify``, in ``--help``'s order."""
    return [option for _, options in option_groups(command) for option in options]


AUDIT_OPTIONS: list[Option] = [
    _opt("--requester", metavar="TEXT",
         help="who asked for the erasure (one line, at most 200 characters)"),
    _opt("--ticket", metavar="TEXT",
         help="the request's reference, e.g. a DSR ticket (one line, at most 200 characters)"),
]

# Also taken before the command (``bulkdelete -q delete ...``): see arguments.build_parser.
OUTPUT_OPTIONS: list[Option] = [
    _opt("--no-progress", action="store_true", help="no progress bar or progress logs"),
    _opt("--log-format", choices=["console", "json"], default="console",
         help="log events on stderr as console lines or JSON lines (default console)"),
    _opt("--log-file", type=Path, metavar="PATH",
         help="also append JSON log events to this file"),
    _opt("-q", "--quiet", action="store_true", help="only warnings, errors and the final summary"),
]

JSON_OPTION: Option = _opt("--json", action="store_true",
                           help="print one JSON object with the result on stdout at the end")

# --sample and --all exclude each other (the first two).
VERIFY_OPTIONS: list[Option] = [
    _opt("--sample", type=int, default=DEFAULT_SAMPLE, metavar="N",
         help=f"look up a uniform random sample of N deleted IDs (default {DEFAULT_SAMPLE:,})"),
    _opt("--all", action="store_true", help="look up every deleted ID; resumable like a delete"),
    _opt("--seed", type=int, metavar="N",
         help="seed of the sample (recorded in verify.json; repeats a sample)"),
]
