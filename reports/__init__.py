"""What people read: the live console panel and verdict table (``console``),
the self-contained HTML run report (``html``; ``standalone`` for histories
checked on their own), the store's run index (``index``) and JUnit XML for CI
(``junit``).  Reports draw from a run directory (``core.store``) and from
CheckResult evidence in the shapes of docs/evidence.md; they never import the
run lifecycle or a checker's internals."""
