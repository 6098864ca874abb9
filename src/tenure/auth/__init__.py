"""Staff users, machine clients, write keys, roles and the audit log."""
