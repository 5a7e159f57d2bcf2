"""Reports: assemble results into views (dicts) and self-contained HTML."""
