"""The web UI: server-rendered pages (Jinja2) made interactive with htmx, on the same services as the API."""
