"""The benchmark suite behind ``tsunagu bench``: every stage on a fresh synthetic municipality.

Each stage runs in its own child process under a small wrapper (``tsunagu.bench.wrapper``), so
the wall time, CPU time and peak memory recorded are that stage's alone. Nothing here is imported
by the rest of tsunagu; the package only drives the ordinary commands and the web app.
"""
