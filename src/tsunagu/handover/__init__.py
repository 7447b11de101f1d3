"""転居時の引継ぎ: hand-over of protected children's cases and health records to the next municipality.

Beside ``work/`` and below ``web/``: detection of moves (``detect``), the package's contents and
PDF (``contents``, ``pdf``), signing and sealing (``envelope``), the trusted municipalities
(``directory``), the sending and receiving sides (``outbox``, ``inbox``), their signed HTTP
(``transport``, ``api``) and the steps around the network (``service``). Legal grounds: ``legal.yaml``.
"""
