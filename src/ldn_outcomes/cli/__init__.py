"""Command line: thin Typer commands that parse, call the library once, and translate errors."""
