"""One-line definitions of the words a tester meets in a report.

The template puts each on the word as a ``title`` tooltip where it first
appears and lists them all at the end; one source for both, so the tooltip
and the glossary never disagree.  Set terms follow Jepsen's set-full.
"""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    "ok": "the operation completed and took effect.",
    "fail": "the operation certainly did not take effect.",
    "expected fail": "a fail that is the operation's own semantics, not an error: e.g. a "
                     "compare-and-set whose compare did not match (error tag cas-mismatch).",
    "info": "the outcome is unknown (a timeout, a lost connection): the operation may or may "
            "not have taken effect, at any time after it began.",
    "lost": "an element whose add was acknowledged (or that a read showed) but that the "
            "final read does not contain.",
    "stale": "an element present in the final read, but missed by some read that began after "
             "it was added — the store showed an older state for a while.",
    "recovered": "an element present in the final read that vanished from some read after it "
                 "had first appeared, and came back.",
    "unexpected": "an element some read returned although no add of it succeeded (never "
                  "added, or only by an add that failed).",
    "never read": "an element no read began after its add completed, so nothing is known "
                  "about it.",
    "stable latency": "how long after its add began an element was present in every read "
                      "from then on (50th and 99th percentile over elements).",
    "nemesis": "the process that injects faults (partitions, kills, pauses, clock changes) "
               "and heals them; its ops are recorded in the history like clients' ops.",
    "linearizable prefix": "the longest start of the history that some order of the ops, "
                           "each taking effect between its invoke and completion, explains.",
}
