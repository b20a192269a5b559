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

Memory design.  No n×n matrix anywhere.  Every session is a chain of the
graph (so is total inside a session), so reachability is stored as one
vector clock per op: ``vc[i, c]`` = the latest position in session c that
reaches op i.  That is an ``n × S`` int32 array (S sessions): linear in n
for a fixed number of sessions — 1M ops × 50 sessions = 200 MB — and exact
(u reaches i iff pos[u] <= vc[i, chain[u]]).  At most two such arrays live
at once (co, and co ∪ cf while CCv is judged) plus one ``reads × S`` prefix
array for the session guarantees.  Clocks come from one Kahn topological
pass (which also finds cycles), O((n + E)·S).  cf edges are kept to one
per (write read, session): the latest write of that session known to some
reader — earlier ones reach it by so — so there are at most
(#writes read)·S of them.  hb_o is saturated per session (it is monotone
along the session, so o = the session's last op covers all o) by rounds of
"add forced edges, grow the clocks incrementally" until nothing changes;
the clocks are grown in place, each changed row saved once for undoing,
so a session costs what its edges change and the undo log never exceeds
one copy of the clocks.  Sessions whose reads returned few writes (≤ 256,
e.g. the short sessions Jepsen's crash convention makes) are first
saturated on a compressed graph of just those writes — a path's last hb
edge enters one of them, the rest of it is co, readable off the clocks —
and only re-run on the full graph when that finds a violation to explain.
Sessions are client processes, so S grows with crashed processes; the
checker estimates its memory (3·n·S·4 bytes) up front and answers
"unknown" over the limit (default 8 GiB, ``memory_limit`` in MiB).

Modules: prepare (history -> node arrays), graph (clocks, cycles, paths),
kernels (patterns, cf/hb edges, session guarantees), analysis (driver),
explain (evidence), simulate (a causally consistent store with lag).
"""

from checkers.registry import register

from .checker import check_causal

register("causal", check_causal,
         "causal consistency of register histories: CC, CM, CCv bad patterns "
         "(Bouajjani et al. 2017) and the four session guarantees")

__all__ = ["check_causal"]
