"""Error values in a history that checkers read (part of the history format).

``CAS_MISMATCH``: the error of a ``fail`` cas whose compare itself failed — the
server (or a read the client synced first) saw a value other than the cas's
``from`` inside the op's window.  Only such failures are observations under
``cas_fail_observes``; a cas that failed for any other reason (connection
refused, no primary, a read that timed out) never happened and observed
nothing.  Clients record exactly this string; reports colour it.
"""

CAS_MISMATCH = "cas-mismatch"
