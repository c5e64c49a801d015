"""SIGINT, SIGTERM or SIGHUP stops a run gracefully (exit 130/143/129); a second Ctrl-C
leaves at once. A log file that cannot be written stops it the same way.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bulkdelete.cli.display import Display
from bulkdelete.engine import StopRequest
from bulkdelete.errors import BulkDeleteError, StorageError
from bulkdelete.logs import failure_message, on_failure, say

EXIT_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}

T = TypeVar("T")


async def until_signalled(work: Coroutine[Any, Any, T], stop: StopRequest, display: Display,
                          *, in_flight: str, quiet_until_sending: bool) -> T:
    """Run ``work`` with the signals routed to ``stop``. ``in_flight`` names what a stop
    lets finish ("requests", "lookups"); with ``quiet_until_sending`` a signal before the
    run sends (at the confirmation prompt, say) is not announced: the refusal that follows
    says it all."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.requested and sig == signal.SIGINT:
            # Second Ctrl-C: leave now. The journal is in the kernel up to the current loop
            # turn, so the checkpoint is consistent; what was in flight or completed in this
            # turn is sent again on resume (within docs/guarantees.md §2's allowance).
            display.abandon()  # end the bar's line before the process goes
            say("bulkdelete: second interrupt, exiting now (checkpoint is consistent)",
                event="signal", signal=sig.name)
            os._exit(130)
        if display.sending or not quiet_until_sending:
            say(f"bulkdelete: {sig.name} received: finishing {in_flight} in flight, saving "
                "progress (Ctrl-C again to quit at once)", event="signal", signal=sig.name)
        stop.request(EXIT_SIGNALS[sig], sig.name)

    def on_log_failure() -> None:  # any thread may have logged
        loop.call_soon_threadsafe(stop.request, StorageError.exit_code, "log file")

    for sig in EXIT_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    unwatch = on_failure(on_log_failure)
    try:
        return await work
    finally:
        unwatch()
        for sig in EXIT_SIGNALS:
            loop.remove_signal_handler(sig)


def run_signalled(work: Coroutine[Any, Any, T], stop: StopRequest, display: Display, *,
                  in_flight: str, quiet_until_sending: bool, saved: Callable[[], str]) -> T:
    """A log file that failed during the run becomes the command's one error line, whatever
    the run's own end."""
    try:
        result = asyncio.run(until_signalled(work, stop, display, in_flight=in_flight,
                                             quiet_until_sending=quiet_until_sending))
    except BulkDeleteError:
        raise_if_log_failed(saved())
        raise
    raise_if_log_failed(saved())
    return result


def raise_if_log_failed(saved: str) -> None:
    failure = failure_message()
    if failure is not None:
        raise StorageError(f"{failure}; the run stopped. {saved}")
