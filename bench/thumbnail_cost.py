"""What a thumbnail costs: seconds to render a PDF's first page, bytes of the WebP, and the libraries' size.

    .venv/bin/python bench/thumbnail_cost.py [PDF ...]

Without arguments it reads the PDFs Debian ships under /usr/share/doc, and also prints three stand-in
first pages of papers with Chromium (two columns of text, as scripts/make_screenshots.py makes them), the
densest kind of first page. Each is rendered five times; the median is printed. Fetching is not
measured: `dailypapers thumbnails` waits arxiv_min_interval (3 s) between PDFs, which dominates.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from dailypapers.ingest.thumbnails import THUMB_HEIGHT, THUMB_WIDTH, render_thumbnail

ROOT = Path(__file__).resolve().parents[1]


def standin_pdfs(folder: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_screenshots import CHROMIUM, first_page
    from playwright.sync_api import sync_playwright

    words = "a method that learns from data and generalizes to unseen tasks with fewer labels than before " * 14
    made = []
    with sync_playwright() as playwright:
        page = playwright.chromium.launch(executable_path=CHROMIUM).new_page()
        for n in range(3):
            paper = {"title": f"A Paper of Some Length, Number {n + 1}, on Learning", "abstract": words,
                     "authors": [{"name": f"Author {k}"} for k in range(6)]}  # fmt: skip
            page.set_content(first_page(paper))
            path = folder / f"standin-{n + 1}.pdf"
            page.pdf(path=str(path), format="Letter", margin={side: "0.75in" for side in ("top", "bottom", "left", "right")})
            made.append(path)
    return made


def installed_mb(distribution: str) -> float:
    files = metadata.distribution(distribution).files or []
    return sum((f.size or 0) for f in files) / 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        pdfs = [Path(p) for p in sys.argv[1:]] or sorted(Path("/usr/share/doc").glob("**/*.pdf")) + standin_pdfs(Path(scratch))
        print(f"thumbnails {THUMB_WIDTH}x{THUMB_HEIGHT} WebP\n| PDF | KB | render s (median of 5) |\n|---|---|---|")
        for pdf in pdfs:
            data = pdf.read_bytes()
            times = []
            for _ in range(5):
                start = time.perf_counter()
                webp = render_thumbnail(data)
                times.append(time.perf_counter() - start)
            print(f"| {pdf.name} ({len(data) / 1e3:,.0f} KB) | {len(webp) / 1e3:.1f} | {statistics.median(times):.3f} |")
    for name in ("pypdfium2", "pillow"):
        print(f"{name} {metadata.version(name)}: {installed_mb(name):.1f} MB installed")


if __name__ == "__main__":
    main()
