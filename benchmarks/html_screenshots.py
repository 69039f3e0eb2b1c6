"""Screenshots of the HTML report pages in headless Chromium, for docs/img/ and the README.

    python benchmarks/html_screenshots.py OUTDIR RUN_DIR [RUN_DIR ...]

Each result folder (run, compare, soak, sweep, load) becomes ``OUTDIR/html-<kind>.png``: its page from
``infermeter report DIR --html`` (self-contained, no network), shot at 1280 px wide and as tall as
``--height`` (default 1800). Needs /usr/bin/chromium (`make browser` installs it on Debian).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def shoot(html: Path, png: Path, height: int) -> None:
    """One headless Chromium screenshot of a local page."""
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
        flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
        flags += [f"--user-data-dir={profile}", f"--window-size=1280,{height}", f"--screenshot={png}"]
        cmd = [CHROMIUM, *flags, html.as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def main() -> int:
    """Render and shoot every folder given; prints one line per screenshot."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--height", type=int, default=1800)
    args = ap.parse_args()
    from infermeter.render.html import render_html
    from infermeter.results.files import load_reports

    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    for folder in args.folders:
        (report,) = load_reports([Path(folder)])
        html = out / f"html-{report['kind']}.html"
        html.write_text(render_html([report]), encoding="utf-8")
        png = out / f"html-{report['kind']}.png"
        shoot(html.resolve(), png.resolve(), args.height)
        html.unlink()
        print(f"{png}  ({report['kind']}: {folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
