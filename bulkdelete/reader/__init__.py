"""IDs streamed from a file in constant memory: :class:`Record` (line and offset a resume
seeks to, docs/guarantees.md §3), :class:`InvalidLine` (counted, never a crash, §7; no ID),
:class:`Blank` (counted apart)."""

from bulkdelete.reader.formats import Input, InputFormat, check_lines_guess, detect_format
from bulkdelete.reader.guard import Watch, check_input_path
from bulkdelete.reader.rule import Blank, InvalidLine, Record

__all__ = [
    "Blank", "Input", "InputFormat", "InvalidLine", "Record", "Watch", "check_input_path",
    "check_lines_guess", "detect_format",
]
