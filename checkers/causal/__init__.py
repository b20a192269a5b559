"""Causal consistency of register histories, after Bouajjani, Enea,
Guerraoui and Hamza, "On verifying causal consistency" (POPL 2017).

Relations (values are written at most once per key, so a read names the
write it read from): session order ``so`` (per client process), read-from
``wr``, causal order ``co = (so ∪ wr)+``, conflict ``cf`` (w1 -cf-> w2 when
w1 -co-> r and w2 -wr-> r for a read r of the same key) and, per op o,
``hb_o`` — the least transitive relation containing co on o's causal past
and w1 -hb-> w2 whenever w1 -hb-> r, w2 -wr-> r, r a read of o's session up
to o.  Bad patterns (the paper's characterisation for differentiated
histories): CC fails iff CyclicCO, WriteCOInitRead, ThinAirRead or
WriteCORead; CM additionally on WriteHBInitRead or CyclicHB; CCv
additionally on CyclicCF (co ∪ cf cyclic).

Levels.  ``level="CC"`` looks for CC's patterns only; ``"CM"`` adds the
hb saturation, ``"CCv"`` the co ∪ cf cycle check; with no level all three
are judged (verdict: CCv's).  ``satisfies`` lists the judged levels.

Memory design.  No n×n matrix anywhere.  Every session is a chain of the
graph (so is total inside a session), so reachability is stored as one
vector clock per op: ``vc[i, c]`` = the latest position in session c that
reaches op i.  That is an ``n × S`` int32 array (S sessions): linear in n
for a fixed number of sessions — 1M ops × 50 sessions = 200 MB — and exact
(u reaches i iff pos[u] <= vc[i, chain[u]]).  It is the only one: the co
clocks come from one Kahn topological pass (which also finds cycles),
O((n + E)·S).  CCv asks only whether co ∪ cf is acyclic, a Kahn pass
without clocks; cf edges are kept to one per (write read, session): the
latest write of that session known to some reader — earlier ones reach
it by so — so there are at most (#writes read)·S of them.  (AWDIT,
Møldrup & Pavlogiannis, PLDI 2025, tests transactional CC — for one-op
transactions this CCv — the same way: a partial commit order of the
forced edges, checked acyclic, in O(n·k) for k sessions.)  Every session
guarantee violation is a WriteCORead or WriteCOInitRead at the same read,
so their kernel (and its reads × S prefix array) runs only when one of
those was found.

CM.  hb_o is saturated per session (it is monotone along the session, so
o = the session's last op covers all o) in rounds, as in the paper: round
k checks WriteHBInitRead on the clocks of co plus the edges of earlier
rounds, then adds every edge they force.  All hb edges enter writes the
session read, so a node's hb clock is its co clock joined with the hb
clock of the sources of the edges into targets it reaches; per target
session those targets are a prefix, and one sweep along a session closes
all its clocks with forward-only pointers (module hb): O((reads + edges)
· S) steps per session and round plus one row join per moved pointer,
reading the co clocks and writing none — where the full-graph rounds
grew the clocks of the whole causal future of every new edge.  A
session found broken is re-run by the full-graph rounds (clocks grown in
place, undone after) to get its witness, while witnesses are wanted.
Sessions are client processes, so S grows with crashed processes; the
checker estimates its memory (3·n·S·4 bytes: the clocks, a re-run's undo
rows, the session-guarantee prefixes) up front and answers "unknown" over
the limit (default 8 GiB, ``memory_limit`` in MiB).

Modules: prepare (history -> node arrays), graph (clocks, cycles, paths),
kernels (patterns, cf/hb edges, session guarantees), hb (CM's one-sweep
saturation), analysis (driver), explain (evidence), simulate (a causally
consistent store with lag).
"""

from checkers.registry import Checker

from .checker import check_causal

CAUSAL = Checker("causal", check_causal,
         "causal consistency of register histories: CC, CM, CCv bad patterns "
         "(Bouajjani et al. 2017) and the four session guarantees")

__all__ = ["check_causal"]
