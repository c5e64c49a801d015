"""What ``delete`` and ``verify`` share, below both: the plan, its input reads and the
observer (:mod:`.plan`), and the one run lifecycle (:mod:`.drive`)."""
