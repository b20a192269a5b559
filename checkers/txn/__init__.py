"""Transactional isolation checkers in the manner of Elle (Kingsbury &
Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
Observations", VLDB 2020), on Adya's definitions ("Weak Consistency", 1999).

Modules: ops (history -> transaction arrays), list_append / rw_register
(version orders, non-cycle anomalies, ww/wr/rw edges), graph (edges, SCCs,
process and real-time order), cycles (shape searches and names), models
(the consistency-model lattice), judge (verdict), explain (evidence),
bank, long_fork.  docs/txn.md is the user's guide.
"""

from checkers.registry import Checker

from .bank import check_bank
from .checker import check_list_append, check_rw_register
from .long_fork import check_long_fork

LIST_APPEND = Checker("list-append", check_list_append,
         "transactional isolation from list-append histories (Elle's G0 … G2, "
         "internal, G1a/b, … against --consistency-models)")

RW_REGISTER = Checker("rw-register", check_rw_register,
         "transactional isolation from read/write register histories (Elle's rw-register; "
         "--sequential-keys, --linearizable-keys, --wfr-keys, --transaction-order)")

BANK = Checker("bank", check_bank,
         "bank transfers: every read of all balances adds up to the total; no negative "
         "balances unless --negative-balances")
LONG_FORK = Checker("long-fork", check_long_fork,
         "Jepsen's long-fork: reads of a key group must be ordered (snapshot isolation; "
         "--group-size)")

__all__ = ["check_bank", "check_list_append", "check_long_fork", "check_rw_register"]
