"""The dashboard: Jinja2 templates, HTMX, Plotly, served by the app."""
