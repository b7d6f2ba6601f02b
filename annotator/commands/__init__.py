"""Typer commands kept out of ``cli.py``; ``cli.py`` mounts them."""
