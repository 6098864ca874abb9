"""The HTTP API: create_app(settings), routers per domain, one error mapping."""
