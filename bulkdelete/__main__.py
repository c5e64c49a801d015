"""``python -m bulkdelete`` is the same as the ``bulkdelete`` console script."""

from bulkdelete.cli import entry_point

if __name__ == "__main__":
    entry_point()
