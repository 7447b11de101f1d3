"""The benchmark suite behind ``tsunagu bench``: every stage on a fresh synthetic municipality.

Each stage runs in its own child process under a small wrapper (``tsunagu.bench.wrapper``), so
the wall time, CPU time and peak memory recorded are that stage's alone. Nothing here is imported
by the rest of tsunagu; the package only drives the ordinary commands and the web app.
"""

# The mean pause between one user's requests in the web benchmark: a user reads a list or a
# child's page before the next click (seconds, in practice), so one second is already a busy
# user. With no pause (--think-ms 0) the load is the heaviest the users could make.
DEFAULT_THINK_MS = 1000.0
