"""``bulkdelete verify``: are a job's deleted profiles really gone? (docs/verify.md)"""

from __future__ import annotations

from bulkdelete.verify.run import DEFAULT_SAMPLE, VerifyResult, verify_job

__all__ = ["DEFAULT_SAMPLE", "VerifyResult", "verify_job"]
