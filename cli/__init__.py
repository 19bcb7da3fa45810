"""The `chotdon` command: one module per subcommand (`main.py` lists them), the demo and its
sample livestream generator (`samples.py`), and how outcomes are printed (`outcomes.py`)."""
