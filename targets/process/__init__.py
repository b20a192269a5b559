"""The ``process`` target: any program, one process per node, from a command line."""
