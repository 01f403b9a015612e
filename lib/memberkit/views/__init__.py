"""Words and pictures of the reports: one module per report, over a shared presentation context.

The analysis modules (``memberkit.clean``, ``rfm``, ``clv``, ``abtest``, ``campaign``, ``kpi``)
compute: frames in, results out, no matplotlib and no sentences. Each view here presents one
report's results: catalogue text (``locale/*.yaml``), number formats, tables and charts. Every
view takes a :class:`~memberkit.views.context.Presentation` as its first argument.

- ``context``: :class:`Presentation` (language, currency, number formats) and ``text()``;
- ``page``: the HTML blocks of a page (KPI cards, headline, notes, banner, tables, footer);
- ``theme``: the chart style;
- ``clean``, ``kpi``, ``rfm``, ``clv``, ``abtest``, ``campaign``: one module per report.

Importing this package does not import matplotlib; the chart functions import it when called.
"""

from .context import Presentation, text

__all__ = ["Presentation", "text"]
