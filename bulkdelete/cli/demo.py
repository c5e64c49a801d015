"""``bulkdelete demo`` (docs/fake-server.md): the real job against an in-process fake server with
faults, checked to lose nothing; then a sample verified: present only where a user came back."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bulkdelete import __version__
from bulkdelete.certificate import Certificate, write_certificate
from bulkdelete.checkpoint.evidence import load_baseline
from bulkdelete.cli.display import Display
from bulkdelete.fake import FakeServer, FakeServerConfig
from bulkdelete.job import JobResult, run_job
from bulkdelete.logs import say
from bulkdelete.report import summary_lines
from bulkdelete.settings import JobFiles, Secret, Settings
from bulkdelete.verify import VerifyResult, verify_job
from bulkdelete.verify.output import summary_lines as verify_lines
from bulkdelete.wording import counted

DEMO_ACCOUNT = "DEMO-ACCOUNT"
DEMO_PASSCODE = "demo-passcode"
VERIFY_SAMPLE = 300
VERIFY_SEED = 20260
CAME_BACK_EVERY = 97  # one generated user in 97 logs in again after the delete


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    job: JobResult
    acked: int  # valid IDs the server acknowledged
    lost: int  # valid IDs neither acknowledged nor failed
    verify: VerifyResult
    looked_up: frozenset[str]  # the IDs of the verify's sample the server was asked about
    came_back: frozenset[str]  # the profiles the server keeps whatever was deleted
    certificate: Certificate  # the demo's last step
    pairs: frozenset[str] = frozenset()  # the baseline's present-before IDs, looked up again

    def verify_mismatch(self) -> str:
        """'' when every looked-up ID is gone unless it came back, and none is unknown: the
        sample's counts, and the pairing's apart."""
        present, paired = self.looked_up & self.came_back, self.pairs & self.came_back
        want = {"checked": len(self.looked_up), "present": len(present),
                "gone": len(self.looked_up - present), "unknown": 0,
                "present_before_rechecked": len(self.pairs),
                "present_before_still_present": len(paired)}
        block = self.verify.summary["baseline"]
        got = {key: self.verify.summary.get(key, block.get(key)) for key in want}
        if got != want:
            return f"verify counted {got}, the server answered {want}"
        still = self.verify.still_present
        if (set(still.read_text(encoding="utf-8").split()) if still else set()) != (
                present | paired):
            return "the still-present list is not the set of present profiles"
        return ""


async def _demo(ids: int, workdir: Path, show_progress: bool) -> DemoOutcome:
    poison = ["poison-id-1", "poison-id-2"] if ids >= 10 else []
    source = workdir / "ids.txt"
    expected = [str(uuid.UUID(int=(n * 2654435761) % (1 << 128) + 1, version=4))
                for n in range(ids)]
    step = max(1, ids // (len(poison) + 1))
    for i, bad in enumerate(poison, start=1):
        expected[min(ids - 1, i * step)] = bad
    with source.open("w", encoding="utf-8") as out:
        for n, ident in enumerate(expected):
            out.write(f"{ident}\n")
            if n == ids // 3:
                out.write("\n   \n")  # blank lines are skipped
            if n == ids // 2:
                out.write("x" * 600 + "\n")  # an over-long line: counted invalid
    valid = set(expected) - set(poison)
    came_back = frozenset(expected[n] for n in range(5, ids, CAME_BACK_EVERY)) - set(poison)
    config = FakeServerConfig(
        account_id=DEMO_ACCOUNT, passcode=DEMO_PASSCODE, concurrency_limit=3,
        latency=0.02, latency_jitter=0.02, p_500=0.02, p_503_html=0.02, p_reset=0.01,
        poison_ids=frozenset(poison), recreated_ids=came_back, seed=7,
    )
    async with FakeServer(config) as server:
        settings = Settings(
            account_id=DEMO_ACCOUNT, passcode=Secret(DEMO_PASSCODE),
            base_url=server.base_url, id_type="guid", concurrency=3, timeout=5,
            backoff_base=0.05, backoff_cap=1.0,
        )
        files = JobFiles(input=source)
        result = await run_job(settings, files, observer=Display(show_progress=show_progress))
        lost = sum(1 for i in valid if not server.stats.acknowledged[i])
        baseline = load_baseline(files.checkpoint_dir)
        # Each deleted one is looked up again besides the sample (docs/verify.md).
        pairs = frozenset(baseline.present_ids() if baseline else ()) - set(poison)
        before = Counter(server.stats.looked_up)
        checked = await verify_job(settings, files, sample=VERIFY_SAMPLE, seed=VERIFY_SEED)
        # A sampled pair is asked about twice.
        looked_up = frozenset(ident for ident, n in (server.stats.looked_up - before).items()
                              if n > (ident in pairs))
    made = await asyncio.to_thread(write_certificate, files.checkpoint_dir, version=__version__)
    return DemoOutcome(result, len(valid) - lost, lost, checked, looked_up, came_back, made,
                       pairs)


def run_demo(*, ids: int, keep: Path | None, show_progress: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="bulkdelete-demo-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        say(f"demo: deleting {ids:,} generated IDs through a fake CleverTap server "
            "(limit 3 in flight, ~2% 500s, ~2% HTML 503s, ~1% resets, 2 rejected IDs)",
            event="demo", ids=ids)
        outcome = asyncio.run(_demo(ids, workdir, show_progress))
        return show(outcome, workdir, kept=keep is not None)


def show(outcome: DemoOutcome, workdir: Path, *, kept: bool) -> int:
    result = outcome.job
    print(*summary_lines(result.report),
          f"fake server acknowledged {outcome.acked:,} of the valid IDs; lost: {outcome.lost}",
          sep="\n")
    if failed := result.report["ids_failed"]:
        print(f"{counted(failed, 'rejected ID')} went to the failed file"
              + (f" {result.failed_path}" if kept else ""))
    if outcome.lost:
        print("NOTHING-LOST CHECK FAILED", file=sys.stderr)
        return 3
    summary = outcome.verify.summary
    print("nothing lost: every valid ID was acknowledged or is in the failed file",
          f"verify (a sample of {VERIFY_SAMPLE}, seed {VERIFY_SEED}; the fake server purges "
          "at once, CleverTap within 48 h — verify then):",
          *(f"  {line}" for line in verify_lines(summary) if not line.startswith("early:")),
          sep="\n")
    if summary["present"]:
        # Named only when it outlives the demo: its temporary folder goes at the end.
        still = outcome.verify.still_present
        where = f"they are listed in {still}" if kept and still else \
            "with --keep DIR they are listed in a still_present-<time>.txt"
        print(f"  {summary['present']} of the sampled users logged in again, so their profiles "
              f"are back; {where}, valid input for a new delete")
    code = 0 if result.exit_code in (0, 1) else result.exit_code
    if mismatch := outcome.verify_mismatch():
        print(f"VERIFY CHECK FAILED: {mismatch}", file=sys.stderr)
        code = 3
    else:
        print("verify agrees with the fake server's own answers, ID for ID")
    status = outcome.certificate.record["status"]
    print(f"certificate of erasure: {status['state']} — {status['why']}",
          f"  {outcome.certificate.html_path}" if kept else "  with --keep DIR it stays, as "
          "DIR/ids.txt.bulkdelete/certificate.html and certificate.json", sep="\n")
    # The temporary folder is removed on the way out: never point at a file inside it.
    print(f"files kept in {workdir}: ids.txt (a sample input) and its checkpoint folder "
          "ids.txt.bulkdelete/ (failed.txt, report.json, verify.json, certificate.*)" if kept else
          "the demo's files went with its temporary folder; 'bulkdelete demo --keep DIR' "
          "keeps them (DIR/ids.txt is a sample input for a rehearsal)")
    return code
