"""Command line: thin Typer commands that parse, call the library once, and translate errors."""

import os

# One BLAS thread per process unless told otherwise, set before numpy is first imported: the
# analyses solve many small systems, and ``ldn analyze`` runs a second process beside the first
# (``analysis.data.forked``), so BLAS threads would only compete for the same cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
