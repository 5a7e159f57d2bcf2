"""LDN Outcomes: measured evidence about low-dose naltrexone in multiple sclerosis."""

__version__ = "0.1.0"
