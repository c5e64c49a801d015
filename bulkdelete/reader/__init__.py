"""The input: IDs streamed out of a file of IDs, in constant memory.

Lines, CSV or JSON Lines (maybe gzipped) become :class:`Record` (a valid ID with its line and
byte offset, where a resume seeks: docs/guarantees.md §3) and :class:`InvalidLine` (counted,
never a crash, §7). Reasons and messages never hold an ID (personal data).
"""

from bulkdelete.reader.formats import InputFormat, check_lines_guess, detect_format, read_records
from bulkdelete.reader.guard import Watch, check_input_path
from bulkdelete.reader.rule import InvalidLine, Record

__all__ = [
    "InputFormat", "InvalidLine", "Record", "Watch", "check_input_path", "check_lines_guess",
    "detect_format", "read_records",
]
