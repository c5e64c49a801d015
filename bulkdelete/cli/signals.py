"""How a command stops on a signal (docs/exit-codes.md): SIGINT, SIGTERM or SIGHUP asks the
run to finish what is in flight and save its progress (exit 130/143/129); a second Ctrl-C
leaves at once, the checkpoint still consistent. One handler for `delete` and `verify`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from bulkdelete.cli.display import Display
from bulkdelete.engine import StopRequest
from bulkdelete.logs import say

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

    for sig in EXIT_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await work
    finally:
        for sig in EXIT_SIGNALS:
            loop.remove_signal_handler(sig)
