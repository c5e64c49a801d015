"""What ``delete`` and ``verify`` share, below both: the input reads and the plan
(:mod:`.plan`), the observer (:mod:`.observer`), and the one run lifecycle (:mod:`.drive`)."""
