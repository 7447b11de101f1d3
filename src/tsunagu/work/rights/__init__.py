"""The family's rights over what tsunagu holds, and the governance duties around them.

- ``requests``: disclosure (開示), correction (訂正), suspension (利用停止) and deletion of derived
  data (削除) requests, with their statutory deadlines (``deadlines.yaml``) and history;
- ``disclosure`` / ``pdf``: the disclosure pack (JSON and a Japanese PDF);
- ``corrections``: notices to the holding department and the disputed-item markers;
- ``deletion``: removing the hub's derived data about one child;
- ``retention``: hub periods (``hub_retention.yaml``) and the retention run;
- ``registers``: the 個人情報ファイル簿 and the legal-basis register;
- ``basis``: the check that every source has a recorded ground before screening uses it.

Every step that touches a person's data is decided and recorded through
``privacy.authorise(..., "requests.handle", "disclosure_handling", ...)`` in the caller's
transaction; a refusal raises ``work.errors.Refused`` after its audit entry was added.
"""
