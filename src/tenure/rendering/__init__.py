"""HTML for the dashboard and the standalone reports: one Jinja2 environment, one chart module."""
