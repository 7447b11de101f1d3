"""Department export builders: one function per source, each returning the tables it writes."""
