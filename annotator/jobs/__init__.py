"""Running many judgments: the durable queue, the async runner, the Batch API and progress."""
