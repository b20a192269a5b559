"""The floor every other package stands on: contracts and small shared types.

Nothing here imports a splitbrain package above it (only ``checkers``' result
and history types, which are the checkers' own input/output contract).  See
ARCHITECTURE.md for the layers and the "may import" table a test enforces.
"""
