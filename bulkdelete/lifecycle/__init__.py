"""What ``delete`` and ``verify`` share, below both: the input reads and the plan, what a
caller watches a run through, and the one run lifecycle that drives the engine.

- :mod:`~bulkdelete.lifecycle.plan`: what a run is about to do, and the input reads it needs
- :mod:`~bulkdelete.lifecycle.observer`: what a caller watches a run through
- :mod:`~bulkdelete.lifecycle.drive`: the only module that builds and drives the engine
"""
