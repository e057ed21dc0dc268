"""Screenshots of the daily page, a paper page and search at 390, 768 and 1280 px, into docs/screenshots/.

    .venv/bin/pip install -e '.[test]'      # Playwright, pypdfium2 and Pillow
    .venv/bin/python scripts/make_screenshots.py [--out docs/screenshots]

Builds the demo in a temporary folder and, since the demo (offline) has no PDFs, prints a stand-in first
page for each paper of the latest day with Debian's Chromium (title, authors and abstract set as a
two-column paper), serves them as arXiv would (`/pdf/ID`) and runs `dailypapers thumbnails` against that
server. Then it serves the site and photographs it with the same Chromium.
"""

from __future__ import annotations

import argparse
import html
import http.server
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from dailypapers.store import Store

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (390, 768, 1280)
CLI = [sys.executable, "-m", "dailypapers"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_page(paper: dict) -> str:
    authors = ", ".join(a["name"] for a in paper["authors"][:8])
    abstract = html.escape(paper["abstract"] or "")
    return f"""<!doctype html><meta charset="utf-8"><style>
      body{{font:10.5pt/1.35 "DejaVu Serif",serif;margin:0}} h1{{font-size:17pt;text-align:center;margin:.4in 0 .15in}}
      .au{{text-align:center;font-size:10pt;margin-bottom:.25in}} .cols{{columns:2;column-gap:.3in;text-align:justify}}
      h2{{font-size:11pt;margin:.1in 0}}</style>
      <h1>{html.escape(paper["title"])}</h1><p class="au">{html.escape(authors)}</p>
      <div class="cols"><h2>Abstract</h2><p>{abstract}</p><h2>1 Introduction</h2><p>{abstract}</p><p>{abstract}</p></div>"""


def serve_folder(folder: Path) -> tuple[http.server.HTTPServer, str]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def translate_path(self, path):  # /pdf/ID -> ID.pdf, as arXiv serves it
            return str(folder / (path.rsplit("/", 1)[-1] + ".pdf"))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        db = Path(scratch) / "demo.db"
        subprocess.run([*CLI, "--db", str(db), "demo", "--no-serve"], check=True)
        store = Store(db)
        day = date.fromisoformat(store.latest_day())
        items, _ = store.feed(day, day)
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        pdfs = Path(scratch) / "pdfs"
        pdfs.mkdir()
        page = browser.new_page()
        for item in items:
            page.set_content(first_page(store.paper(item["id"])))
            page.pdf(path=str(pdfs / f"{item['id']}.pdf"), format="Letter", margin={"top": "0.75in", "bottom": "0.75in", "left": "0.75in", "right": "0.75in"})
        arxiv, arxiv_url = serve_folder(pdfs)
        subprocess.run([*CLI, "--db", str(db), "--set", f"arxiv_base_url={arxiv_url}", "--set", "arxiv_min_interval=0",
                        "thumbnails", "--no-logos", "--ids", ",".join(i["id"] for i in items)], check=True)  # fmt: skip
        arxiv.shutdown()

        port = free_port()
        site = subprocess.Popen([*CLI, "--db", str(db), "serve", "--port", str(port)], stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                sys.exit(f"the site did not answer on {url}/healthz")
            pages = {"daily": "/", "paper": f"/papers/{items[0]['id']}", "search": "/search?q=agents+that+use+tools"}
            for width in WIDTHS:
                view = browser.new_page(viewport={"width": width, "height": 900 if width > 390 else 844})
                for name, path in pages.items():
                    view.goto(url + path, wait_until="networkidle")
                    view.screenshot(path=str(args.out / f"{name}-{width}.jpg"), type="jpeg", quality=80)
                    print(args.out / f"{name}-{width}.jpg")
                view.close()
        finally:
            site.terminate()
            site.wait()
            browser.close()


if __name__ == "__main__":
    main()
