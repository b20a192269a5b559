"""PostgreSQL as a target: see ``target.py`` for the topologies, ``client.py`` for the outcome rules."""
