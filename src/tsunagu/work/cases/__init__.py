"""ケース管理: a case status per child with owner, team and history; the contact log; individual case
meetings (個別ケース検討会議); the 要対協 progress ledger (進行管理台帳); printable summaries.

Every function that reads or writes a child's case decides and records through ``work.access.guard``
(one child) or ``list_scope`` (worklists, the ledger) in the caller's transaction. Free text (reasons,
contact summaries, meeting decisions) is sealed with the home's NoteCipher.
"""
