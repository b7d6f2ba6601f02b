"""Running suites: judging a suite's papers through the queue and scoring them (``run``),
and the prompt-injection suite (``injection``). The floor above the queue, the methods
and the metrics, which it puts together."""
