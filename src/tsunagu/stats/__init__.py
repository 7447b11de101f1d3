"""Statistics for policy staff: counts of children with small cells suppressed, the budget per
programme, and an evaluation of the work (see docs/statistics.md).

The public surface: ``build_report`` (one audited aggregate read, every table suppressed
together), ``publish`` / ``publish_all`` (suppress tables of counts) and ``load_programmes``.
"""

from tsunagu.stats.budget import load_programmes
from tsunagu.stats.report import Report, build_report
from tsunagu.stats.tables import StatTable, publish, publish_all

__all__ = ["Report", "StatTable", "build_report", "load_programmes", "publish", "publish_all"]
