"""Importers: one module per outside source; every problem reported with its location."""
