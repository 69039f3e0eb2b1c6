"""Views of reports: console tables, CSV/Markdown, self-contained HTML, plots; each format registered."""
