"""``bulkdelete verify``: are a job's deleted profiles really gone? (docs/verify.md)

- :mod:`~bulkdelete.verify.run`: :func:`verify_job`, the whole verify of one job
- :mod:`~bulkdelete.verify.population`: the job's deleted IDs, and the sample drawn from them
- :mod:`~bulkdelete.verify.output`: verify.json, still_present.txt and the summary line
- :mod:`~bulkdelete.verify.shapes`: the check's operation, and the gone answers' shapes
- :mod:`~bulkdelete.verify.bound`: the 95 % upper bound on the share still present
"""

from __future__ import annotations

from bulkdelete.verify.run import DEFAULT_SAMPLE, VerifyResult, verify_job

__all__ = ["DEFAULT_SAMPLE", "VerifyResult", "verify_job"]
