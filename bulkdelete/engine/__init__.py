"""The engine: scheduling, sending and the abort rules, generic over an operation
(:class:`Delete`, :class:`Check`).
"""

from bulkdelete.client import Failures
from bulkdelete.engine.engine import Engine, OperationFactory, RunEnd
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.operation import Check, Delete, Labels, Operation
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
