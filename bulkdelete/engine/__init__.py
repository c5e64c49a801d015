"""The engine: scheduling, sending and the abort rules, generic over an operation.

=============  ===========================================================================
engine.py      :class:`Engine`: the parts assembled; what happens to one batch
scheduler.py   window, workers, slots, stop and drain
operation.py   the operation a batch gets (:class:`Delete`, with its 400 bisection;
               :class:`Check`, verify's lookups)
sender.py      one request with retries, 429 pacing and the outage pause
rules.py       the abort rules and the stall watchdog
limiter.py     the adaptive in-flight limit, shared pause and rate
stop.py        :class:`StopRequest` from outside, the run's :class:`Gate` inside
stats.py       run counters and the :class:`Snapshot` a display reads
ledger.py      the :class:`Ledger` the engine records sends and finished batches in
=============  ===========================================================================
"""

from bulkdelete.engine.engine import Engine, OperationFactory
from bulkdelete.engine.ledger import Ledger
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.operation import Check, Delete, Failures, Operation
from bulkdelete.engine.rules import Rules
from bulkdelete.engine.scheduler import RunEnd
from bulkdelete.engine.sender import Abandoned, Request, Sender
from bulkdelete.engine.stats import RunStats, Snapshot
from bulkdelete.engine.stop import Gate, StopRequest, race

__all__ = [
    "Abandoned",
    "AdaptiveLimiter",
    "Check",
    "Delete",
    "Engine",
    "Failures",
    "Gate",
    "Ledger",
    "Operation",
    "OperationFactory",
    "Request",
    "Rules",
    "RunEnd",
    "RunStats",
    "Sender",
    "Snapshot",
    "StopRequest",
    "Ticket",
    "race",
]
