"""The HTML build report: build/<name>/report.html per recipe and build/index.html over all.

``hook.after_run`` (called by the runner) decides cheaply whether the report is current;
``write_report``/``write_index`` gather the build's records (``data``), draw the plots
(``plots``, matplotlib → inline SVG) and render the page (``render``, Jinja2). The page is
self-contained: no scripts, no fonts or images from the network.
"""

from pipeline_runner.report.hook import INDEX, LAST_RUN, REPORT, write_index, write_report

__all__ = ["INDEX", "LAST_RUN", "REPORT", "write_index", "write_report"]
