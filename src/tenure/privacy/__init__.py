"""Privacy and compliance: the tamper-evident audit chain, secrets at rest, masking, retention."""
