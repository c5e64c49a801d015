"""The input: IDs streamed out of a file of IDs, in constant memory, as :class:`Record` (an ID
with the line and byte offset a resume seeks to: docs/guarantees.md §3) and
:class:`InvalidLine` (counted, never a crash, §7). Nothing said of a line holds its ID."""

from bulkdelete.reader.formats import InputFormat, check_lines_guess, detect_format, read_records
from bulkdelete.reader.guard import Watch, check_input_path
from bulkdelete.reader.rule import InvalidLine, Record

__all__ = [
    "InputFormat", "InvalidLine", "Record", "Watch", "check_input_path", "check_lines_guess",
    "detect_format", "read_records",
]
