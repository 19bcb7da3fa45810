"""The HTTP API's routes, one module per resource (mounted under /api/v1 by web/app.py)."""
