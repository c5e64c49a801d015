"""The certificate's files from a real job against the shipped fake server over loopback
(docs/certificate.md): every value escaped, a page that parses with no script and no
external resource, the JSON's SHA-256 on the page, owner-only files."""

from __future__ import annotations

import hashlib
import json
import stat
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bulkdelete import JobFiles, __version__, run_job, verify_job
from bulkdelete.certificate import write_certificate
from bulkdelete.certificate.record import encode
from bulkdelete.checkpoint import CheckpointStore
from bulkdelete.checkpoint.evidence import Baseline, Calibration, Seen, save_baseline
from bulkdelete.errors import CheckpointError
from tests.conftest import ServerFactory, make_ids, make_settings, write_ids

REQUESTER = '<script>alert("requester")</script>'
TICKET = "</td><img src=x onerror=alert(1)> & 'DSR-1'"
NAME = '<b>"ids\'&.txt'


class Page(HTMLParser):
    """Every tag with its attributes, the text, and the footer's hash."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.sha256 = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = "sha" if dict(attrs).get("id") == "json-sha256" else tag

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "sha":
            self.sha256 = data.strip()
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in = None


async def _job(tmp_path: Path, fake_server: ServerFactory) -> tuple[Path, list[str]]:
    """A job with hostile names, a failed ID, a still-present one and a baseline, verified."""
    ids = make_ids(250)
    source = write_ids(tmp_path / NAME, ids)
    async with fake_server(poison_ids=frozenset({ids[3]}),
                           recreated_ids=frozenset({ids[4]})) as server:
        settings = make_settings(server.base_url, requester=REQUESTER, ticket=TICKET)
        files = JobFiles(input=source)
        assert (await run_job(settings, files)).exit_code == 1
        shape = {"http": 200, "status": "fail", "code": 404,
                 "error": f"<i>Profile</i> {ids[5]} not found"}  # an unmasked ID, on purpose
        save_baseline(files.checkpoint_dir, Baseline(
            size=3, seed=1, population=250, checked_at="2026-01-01T00:00:00.000Z",
            calibration=Calibration(shape, "guid", "2026-01-01T00:00:00.000Z"),
            ids=[(ids[4], Seen.PRESENT), (ids[6], Seen.PRESENT), (ids[7], Seen.ABSENT)]))
        await verify_job(settings, files, sample=50, seed=2)
    return files.checkpoint_dir, ids


async def test_every_value_is_escaped_and_the_page_is_static(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    folder, ids = await _job(tmp_path, fake_server)
    made = write_certificate(folder, version=__version__)
    raw = made.html_path.read_text(encoding="utf-8")
    page = Page()
    page.feed(raw)
    page.close()
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags
    assert "img" not in tags
    assert "b" not in tags
    assert "i" not in tags
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not {"src", "href"} & set(attrs), (tag, attrs)  # no resource at all
    assert tags.count("svg") == 1
    assert not any("url(" in css or "@import" in css for css in page.styles)
    text = "".join(page.text)
    for shown in (REQUESTER, TICKET, NAME):
        assert shown in text  # shown as written, as text
    assert "@page" in "".join(page.styles)
    assert "A4" in "".join(page.styles)
    data = made.json_path.read_bytes()
    assert page.sha256 == made.sha256 == hashlib.sha256(data).hexdigest()
    assert encode(json.loads(data)) == data  # canonical as written
    for path in (made.json_path, made.html_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The calibration's shape quoted an ID: the scan masked it, in the baseline's copy and
    # in the verify's.
    record = json.loads(data)
    assert record["id_scan"] == {"input_read": True, "masked": 2}
    assert record["baseline"]["calibration"]["shape"]["error"] == "<i>Profile</i> <ID> not found"
    for ident in ids:
        assert ident not in raw
        assert ident.encode() not in data


async def test_the_record_holds_the_jobs_evidence(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    folder, _ = await _job(tmp_path, fake_server)
    record = write_certificate(folder, version="9.9").record
    assert record["status"]["state"] == "verified early"  # the fake purges now, the clock not
    assert record["input"]["name"] == NAME
    assert record["input"]["size"] == (tmp_path / NAME).stat().st_size
    assert (record["requester"], record["ticket"]) == (REQUESTER, TICKET)
    assert (record["job"]["ids_total"], record["job"]["ids_deleted"],
            record["job"]["ids_failed"]) == (250, 249, 1)
    failed = (folder / "failed.txt").read_bytes()
    assert record["failed"]["file"] == {"name": "failed.txt", "lines": 1,
                                        "sha256": hashlib.sha256(failed).hexdigest()}
    assert "ids" not in record["baseline"]
    assert record["baseline"]["sampled"] == 3
    assert record["verify"]["baseline"]["present_before_still_present"] == 1
    assert record["tool"] == {"name": "bulkdelete", "version": "9.9"}
    assert len(record["runs"]) == 1


async def test_a_job_a_run_holds_is_refused(tmp_path: Path, fake_server: ServerFactory) -> None:
    """A certificate of a job mid-run would be out of date at once: refused, nothing
    written (a flock taken on another open file conflicts even within one process)."""
    folder, _ = await _job(tmp_path, fake_server)
    holder = CheckpointStore(folder)
    holder.lock()
    try:
        with pytest.raises(CheckpointError, match="a run holds"):
            write_certificate(folder, version="1")
    finally:
        holder.close()
    assert not (folder / "certificate.json").exists()


def test_the_template_ships_with_the_package() -> None:
    """The page's template is package data: pyproject names it, so an installed (not only
    an editable) package finds it."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = project["tool"]["setuptools"]["package-data"]["bulkdelete"]
    package = Path(__file__).parents[2] / "bulkdelete"
    templates = list((package / "certificate" / "templates").iterdir())
    assert templates
    assert all(any(t.relative_to(package).match(g) for g in globs) for t in templates)


async def test_an_input_read_in_its_own_encoding_is_scanned_in_it(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """A Windows-1252 job's IDs are read back as that job read them: an ID with an accent,
    pasted into the requester, is masked (read as UTF-8, that line would be no ID at all)."""
    ids = [f"josé-{n}@example.com" for n in range(20)]
    source = tmp_path / "export.txt"
    source.write_bytes("".join(f"{i}\n" for i in ids).encode("cp1252"))
    async with fake_server() as server:
        settings = make_settings(server.base_url, id_type="identity",
                                 requester=f"on behalf of {ids[3]}")
        files = JobFiles(input=source, encoding="cp1252")
        assert (await run_job(settings, files)).exit_code == 0
        assert {i for i in ids if server.stats.acknowledged[i]} == set(ids)
    made = write_certificate(files.checkpoint_dir, version="9.9")
    assert made.record["requester"] == "on behalf of <ID>"
    # The requester stands in the record and in its run: both masked.
    assert made.record["id_scan"] == {"input_read": True, "masked": 2}
    for text in (made.html_path.read_text(encoding="utf-8"), made.json_path.read_text()):
        assert not [i for i in ids if i in text]
