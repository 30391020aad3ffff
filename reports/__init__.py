"""Outcomes reports: one sponsor's published figures as a self-contained HTML file and a PDF.

``content`` gathers the figures from the analysis layer (published, for one sponsor),
``checklist`` fills the TREND-style reporting checklist, ``svg`` draws the figures as inline
SVG, ``html`` renders the page (CSS inline, no script, no request to any host) and ``pdf``
prints it with Debian's Chromium. ``write_reports`` is what `attune report` and the
dashboard's download both call. Dash-free: imports only ``warehouse``, ``stats`` and
``schemas``.
"""
