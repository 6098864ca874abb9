"""The scheduler: the daily pipeline, digests and reports on time, once, with catch-up."""
