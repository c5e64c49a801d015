"""The engine: scheduling, sending and the abort rules, generic over an operation."""

from bulkdelete.engine.engine import Check, Engine, OperationFactory, RunEnd
from bulkdelete.engine.limiter import AdaptiveLimiter
from bulkdelete.engine.sender import Sender
from bulkdelete.engine.stats import RunStats, Snapshot, StopRequest, race

__all__ = ["AdaptiveLimiter", "Check", "Engine", "OperationFactory", "RunEnd", "RunStats",
           "Sender", "Snapshot", "StopRequest", "race"]
