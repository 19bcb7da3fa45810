"""The staff dashboard and the HTTP API (`chotdon serve`): see app.py."""
