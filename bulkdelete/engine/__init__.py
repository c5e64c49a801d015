"""The engine: scheduling, sending and the abort rules, generic over an operation."""

from bulkdelete.engine.engine import Check as Check
from bulkdelete.engine.engine import Engine as Engine
from bulkdelete.engine.engine import OperationFactory as OperationFactory
from bulkdelete.engine.engine import RunEnd as RunEnd
from bulkdelete.engine.limiter import AdaptiveLimiter as AdaptiveLimiter
from bulkdelete.engine.sender import Sender as Sender
from bulkdelete.engine.stats import RunStats as RunStats
from bulkdelete.engine.stats import Snapshot as Snapshot
from bulkdelete.engine.stats import StopRequest as StopRequest
from bulkdelete.engine.stats import race as race
