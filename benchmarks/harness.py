"""Process plumbing shared by the scenarios: inputs, fake servers, measured child processes.

Every client — the tool, the bare loop, the peers — runs as its own process, and so does
every fake server, so that no two of them share an event loop or a GIL. A child is reaped
with :func:`os.wait4`, which returns *that* child's resource usage (CPU time, peak RSS);
``RUSAGE_CHILDREN`` would only give sums and the largest child ever.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ACCOUNT = "BENCH-ACCOUNT"
PASSCODE = "bench-passcode"
ID_WIDTH = 36  # every generated ID has this many characters, so a file's size gives its count
CLK_TCK = os.sysconf("SC_CLK_TCK")


def bulkdelete_argv() -> list[str]:
    """The installed ``bulkdelete`` console script beside this interpreter, or ``-m``."""
    script = Path(sys.executable).with_name("bulkdelete")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "bulkdelete"]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVERTAP_")}
    env.update(
        CLEVERTAP_ACCOUNT_ID=ACCOUNT,
        CLEVERTAP_PASSCODE=PASSCODE,
        FAKE_CLEVERTAP_PASSCODE=PASSCODE,
    )
    # The clients module is imported from this checkout, wherever the child's cwd is.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.update(extra)
    return env


# --- inputs -------------------------------------------------------------------------------


def make_id(n: int) -> str:
    """A GUID-shaped ID, unique per n (36 characters)."""
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def ids_file(directory: Path, count: int) -> Path:
    """``directory/ids_<count>.txt``, one ID per line; generated once, then reused."""
    path = directory / f"ids_{count}.txt"
    if path.exists() and path.stat().st_size == count * (ID_WIDTH + 1):
        return path
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="ascii") as out:
        step = 200_000
        for start in range(0, count, step):
            out.write("".join(make_id(n) + "\n" for n in range(start, min(count, start + step))))
    tmp.replace(path)
    return path


# --- the fake server ----------------------------------------------------------------------


@dataclass
class ServerProcess:
    """``bulkdelete fake-server`` in its own process."""

    latency: float
    limit: int
    record: Path | None
    log_path: Path
    # Remembering every deleted ID (for lookups) would hold 10M of them in the server: off
    # unless a scenario looks profiles up.
    remember_deletes: bool = False
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    _log: IO[str] | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        argv = [
            *bulkdelete_argv(), "fake-server", "--account-id", ACCOUNT,
            "--concurrency-limit", str(self.limit), "--latency", f"{self.latency:g}",
        ]
        if self.record is not None:
            argv += ["--record", str(self.record)]
        if not self.remember_deletes:
            argv.append("--forget-deletes")
        self._log = self.log_path.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._log, text=True, env=child_env()
        )

    def wait_ready(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        prefix = "fake server listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"fake server did not start (see {self.log_path}): {line!r}")
        self.url = line[len(prefix) :].strip()

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user + system), from /proc."""
        assert self.proc is not None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def record_size(self) -> int:
        if self.record is None:
            return 0
        try:
            return self.record.stat().st_size
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
            elif proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


class Servers:
    """Fake servers started on first use and shared by every scenario that wants the same
    latency, limit and record file; all stopped by :meth:`close`."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._servers: dict[tuple[float, int, Path | None], ServerProcess] = {}

    def get(self, latency: float, limit: int, record: Path | None = None) -> ServerProcess:
        key = (latency, limit, record)
        server = self._servers.get(key)
        if server is None:
            server = self._new(key)
            server.start()
        return server

    def prestart(self, keys: Sequence[tuple[float, int, Path | None]]) -> None:
        """Start these servers side by side (each takes a few hundred ms to import)."""
        fresh = [self._new(key) for key in dict.fromkeys(keys) if key not in self._servers]
        for server in fresh:
            server.launch()
        for server in fresh:
            server.wait_ready()

    def _new(self, key: tuple[float, int, Path | None]) -> ServerProcess:
        latency, limit, record = key
        name = f"server_{latency:g}s_limit{limit}{'_rec' if record else ''}.log"
        server = ServerProcess(latency, limit, record, self._workdir / name)
        self._servers[key] = server
        return server

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


# --- measured children --------------------------------------------------------------------


@dataclass
class Measured:
    """One child process: exit code, wall time, its own CPU time and peak RSS."""

    exit_code: int
    wall_s: float
    cpu_s: float
    maxrss_mb: float
    stdout: str
    stderr: str


def _reap(proc: subprocess.Popen[bytes], started: float) -> tuple[int, float, float, float]:
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here, so Popen must not wait for it again
    return code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


@dataclass
class Child:
    """A started child whose output goes to files; :meth:`reap` measures it."""

    proc: subprocess.Popen[bytes]
    started: float
    out_path: Path
    err_path: Path

    def running(self) -> bool:
        """Whether the child has not exited yet, without reaping it (``Popen.poll`` would,
        and take its resource usage with it)."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.proc.pid, flags) is None

    def reap(self) -> Measured:
        code, wall, cpu, rss = _reap(self.proc, self.started)
        return Measured(
            code, wall, cpu, rss,
            self.out_path.read_text(errors="replace"), self.err_path.read_text(errors="replace"),
        )

    def kill9(self) -> Measured:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.reap()


def spawn(argv: Sequence[str], logdir: Path, name: str) -> Child:
    out_path, err_path = logdir / f"{name}.out", logdir / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=child_env())
    return Child(proc, started, out_path, err_path)


def run(argv: Sequence[str], logdir: Path, name: str) -> Measured:
    return spawn(argv, logdir, name).reap()


@dataclass
class ToolRun:
    """``bulkdelete delete`` measured from outside, plus its report."""

    measured: Measured
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def send_s(self) -> float:
        """The sending phase as the tool itself timed it (``runs[-1].elapsed_s``)."""
        runs = self.report.get("runs") or [{}]
        return float(runs[-1].get("elapsed_s", 0.0))

    @property
    def ids(self) -> int:
        runs = self.report.get("runs") or [{}]
        return int(runs[-1].get("ids_deleted", 0))


def tool_argv(
    ids: Path, url: str, concurrency: int, checkpoint: Path, *extra: str
) -> list[str]:
    # No preflight nor baseline: a server that forgets deletes answers no lookups (503),
    # and the benchmarks measure the deletes.
    return [
        *bulkdelete_argv(), "delete", str(ids), "--id-type", "guid", "--yes", "--no-progress",
        "--no-preflight", "--baseline", "0", "--concurrency", str(concurrency), "--base-url", url,
        "--checkpoint", str(checkpoint), "--report", str(checkpoint / "report.json"), *extra,
    ]


def read_report(checkpoint: Path) -> dict[str, Any]:
    path = checkpoint / "report.json"
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def run_tool(
    ids: Path, url: str, concurrency: int, workdir: Path, name: str, *extra: str,
    checkpoint: Path | None = None,
) -> ToolRun:
    """Run ``bulkdelete delete`` to its end; raise if it did not exit 0. Without
    ``checkpoint`` the job starts afresh in ``workdir/<name>.ckpt``; with one, it resumes."""
    if checkpoint is None:
        checkpoint = workdir / f"{name}.ckpt"
        if checkpoint.exists():
            shutil.rmtree(checkpoint)
    measured = run(tool_argv(ids, url, concurrency, checkpoint, *extra), workdir, name)
    if measured.exit_code != 0:
        raise RuntimeError(
            f"bulkdelete exited {measured.exit_code} in {name}: {measured.stderr[-2000:]}"
        )
    return ToolRun(measured, read_report(checkpoint))


@dataclass
class ClientRun:
    measured: Measured
    result: dict[str, Any]

    @property
    def send_s(self) -> float:
        return float(self.result["send_s"])


def run_client(mode: str, ids: Path, url: str, concurrency: int, workdir: Path,
               name: str) -> ClientRun:
    argv = [sys.executable, "-m", "benchmarks.clients", mode, "--url", url, "--ids", str(ids),
            "--concurrency", str(concurrency)]
    measured = run(argv, workdir, name)
    if measured.exit_code != 0:
        raise RuntimeError(f"{mode} client exited {measured.exit_code}: {measured.stderr[-2000:]}")
    return ClientRun(measured, json.loads(measured.stdout.strip().splitlines()[-1]))


# --- numbers ------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def server_cpu(server: ServerProcess) -> Iterator[list[float]]:
    """Yields a list that holds the server's CPU seconds spent inside the block, after it."""
    box: list[float] = []
    before = server.cpu_seconds()
    yield box
    box.append(server.cpu_seconds() - before)
