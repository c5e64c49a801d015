"""The certificate as files (docs/certificate.md): ``certificate.json`` (canonical) and
``certificate.html``, one static printable page rendered by Jinja2 with autoescape on, so a
requester named ``<script>`` is shown, never run. Both owner-only, installed whole."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from bulkdelete.certificate.record import build, encode
from bulkdelete.durable import write_private_atomic
from bulkdelete.errors import StorageError
from bulkdelete.outputs import CERTIFICATE_NAMES
from bulkdelete.verify.output import percent

JSON_NAME, HTML_NAME = CERTIFICATE_NAMES
BAR_WIDTH = 560
# Colour-blind safe (Okabe–Ito); each segment is also named with its count in the legend.
COLOURS = {"deleted": "#009E73", "failed": "#D55E00", "invalid": "#999999",
           "not handled": "#E5E5E5", "gone": "#009E73", "present": "#D55E00",
           "unknown": "#E69F00"}


@dataclass(frozen=True, slots=True)
class Certificate:
    json_path: Path
    html_path: Path
    record: dict[str, Any]
    sha256: str  # of certificate.json's bytes


def _environment() -> jinja2.Environment:
    # The template is package data: found wherever the package is installed.
    env = jinja2.Environment(loader=jinja2.PackageLoader("bulkdelete.certificate"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = percent  # verify's own wording of a share
    return env


def bars(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The outcome bars the page draws: the job's IDs, and the last verify's lookups."""
    job = record["job"]
    rows = [("the job's IDs", {
        "deleted": job["ids_deleted"], "failed": job["ids_failed"],
        "invalid": job["lines_invalid"],
        "not handled": max(0, job["ids_total"] - job["ids_deleted"] - job["ids_failed"])})]
    if (verify := record["verify"]) is not None:
        rows.append(("last verify", {k: verify.get(k, 0) for k in ("gone", "present", "unknown")}))
    out = []
    for title, counts in rows:
        total, x, segments = sum(counts.values()), 0.0, []
        for label, count in counts.items():
            # At least 2 px, so a handful of failures among millions is still seen.
            width = 0.0 if not total or not count else max(2.0, BAR_WIDTH * count / total)
            segments.append({"label": label, "count": count, "x": round(x, 1),
                             "width": round(width, 1), "colour": COLOURS[label]})
            x += width
        out.append({"title": title, "segments": segments})
    return out


def render(record: dict[str, Any], sha256: str) -> str:
    return _environment().get_template("certificate.html").render(
        r=record, sha256=sha256, bars=bars(record))


def write_certificate(folder: Path, *, version: str,
                      now: datetime | None = None) -> Certificate:
    """Both files into the checkpoint ``folder``: the JSON first, then the page naming its
    SHA-256 (an auditor ties the page to the record by it)."""
    record = build(folder, version=version, now=now)
    data = encode(record)
    sha256 = hashlib.sha256(data).hexdigest()
    page = render(record, sha256).encode("utf-8")
    json_path, html_path = folder / JSON_NAME, folder / HTML_NAME
    try:
        write_private_atomic(json_path, data)
        write_private_atomic(html_path, page)
    except OSError as exc:
        raise StorageError(f"cannot write the certificate in {folder}: "
                           f"{exc.strerror or exc}") from None
    return Certificate(json_path, html_path, record, sha256)
