"""The engine: scheduling, sending and the abort rules, generic over an operation.

=============  ===========================================================================
engine.py      :class:`Engine`: the meters, a task per batch, the drain; one batch's end
operation.py   the operation a batch gets (:class:`Delete`, with its 400 bisection;
               :class:`Check`, verify's lookups) and its outcome :class:`Labels`
sender.py      one request with retries, 429 pacing and the outage pause
rules.py       the abort rules and the stall watchdog
limiter.py     the adaptive in-flight limit, shared pause and rate
stop.py        :class:`StopRequest`, the run's one stop event, and :func:`race`
stats.py       run counters and the :class:`Snapshot` a display reads
recorder.py    the :class:`Recorder` the engine records sends and finished batches in
=============  ===========================================================================
"""

from bulkdelete.engine.engine import Engine, OperationFactory, RunEnd
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.operation import Check, Delete, Failures, Labels, Operation
from bulkdelete.engine.recorder import Recorder
from bulkdelete.engine.rules import Rules
from bulkdelete.engine.sender import Request, Sender
from bulkdelete.engine.stats import RunStats, Snapshot, Traffic
from bulkdelete.engine.stop import StopRequest, race

__all__ = [
    "AdaptiveLimiter",
    "Check",
    "Delete",
    "Engine",
    "Failures",
    "Labels",
    "Operation",
    "OperationFactory",
    "Recorder",
    "Request",
    "Rules",
    "RunEnd",
    "RunStats",
    "Sender",
    "Snapshot",
    "StopRequest",
    "Ticket",
    "Traffic",
    "race",
]
