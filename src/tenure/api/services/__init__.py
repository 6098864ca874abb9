"""Read models of the API: SQL lives here, routers stay thin."""
