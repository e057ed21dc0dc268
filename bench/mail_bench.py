"""Writing digest mails: the hand-written MIME of digest/render.py against the standard library's email package.

    .venv/bin/python bench/mail_bench.py [--mails 1000] [--papers 10] [--repeat 3]     # about 2 minutes

Composes `--mails` digests of `--papers` real papers each (from the bundled demo sample, so titles,
abstracts and author lists have their real lengths and their non-ASCII text), each to its own
subscriber, and prints mails per second (best of `--repeat`, the variants taking turns) for:

  whole mail      the templates (plain text and HTML) and the message, as the sender does it:
                  - hand-written         Renderer.message, what digest/send.py sends (mime_alternative)
                  - email package SMTP   the same headers and bodies in an EmailMessage (policy SMTP as
                                         it is), set_content + add_alternative, as_bytes()
                  - email package SMTP, same mail   policy SMTP with header lines up to 998 octets and
                                         base64 bodies: the mail the hand-written code writes
                  - email package SMTPUTF8, same mail   the same with policy SMTPUTF8 (what a non-ASCII
                                         address needs)
                  - hand-written, IDN    Renderer.message to `user{n}@bücher.de` (A-label, no SMTPUTF8) and
                                         `jörg{n}@bücher.de` (SMTPUTF8) addresses, alternately
  message only    the same messages from bodies rendered beforehand: the MIME writing alone.

Every variant's first mail is parsed back (email.message_from_bytes, policy default) and compared
with what was rendered: subject, recipient, List-Unsubscribe, plain text and HTML; what differs is
printed beside its figure. The SMTP conversation itself is not measured here: bench/digest_bench.py
sends digests to a local server.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import gzip
import json
import secrets
import time
from email.message import EmailMessage
from pathlib import Path

from dailypapers.digest import Renderer
from dailypapers.digest.render import mime_alternative
from dailypapers.digest.tokens import Signer

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "dailypapers" / "data" / "demo_sample.jsonl.gz"


def load_papers(count: int) -> list[dict]:
    """Papers as the store hands them to the renderer (the fields it reads)."""
    papers = []
    with gzip.open(SAMPLE, "rt") as lines:
        for line in lines:
            item = json.loads(line)
            paper = item["paper"]
            papers.append({"id": paper["id"], "title": paper["title"], "abstract": paper.get("summary"),
                           "authors": [{"name": a["name"]} for a in paper.get("authors") or []],
                           "upvotes": paper.get("upvotes") or 0, "organization": item.get("organization"),
                           "github_repo": paper.get("githubRepo"), "project_page": paper.get("projectPage")})  # fmt: skip
            if len(papers) == count:
                break
    return papers


SAME_MAIL = {"max_line_length": 998}  # header lines as long as SMTP allows (mime_alternative does not fold)


def email_package(headers: dict[str, str], text: str, html: str, policy, cte: str | None = None) -> bytes:
    """The same message written by the email package (`cte`: the bodies' transfer encoding, else its choice)."""
    message = EmailMessage(policy=policy)
    for name, value in headers.items():
        if name == "Subject" and value.startswith("=?"):
            value = str(email.header.make_header(email.header.decode_header(value)))  # the package encodes it again
        message[name] = value
    message.set_content(text, cte=cte)
    message.add_alternative(html, subtype="html", cte=cte)
    return message.as_bytes()


def elapsed(work, items) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return time.perf_counter() - started


def differences(raw: bytes, headers: dict[str, str], text: str, html: str) -> list[str]:
    """What the mail `raw` says otherwise than what was rendered."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    found = []
    if "=?" in raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("List-Unsubscribe:", 1)[1].split("\r\n")[0]:
        found.append("List-Unsubscribe written as encoded words: no <URL> for one-click unsubscribe (RFC 2369, 8058)")
    if parsed["List-Unsubscribe"] != headers["List-Unsubscribe"]:
        found.append("List-Unsubscribe differs")
    if headers["To"].isascii() and parsed["To"] != headers["To"]:  # (a UTF-8 header reads back with surrogate escapes)
        found.append("To differs")
    if "Subject" in headers and not headers["Subject"].startswith("=?") and parsed["Subject"] != headers["Subject"]:
        found.append("Subject differs")
    for subtype, rendered in (("plain", text), ("html", html)):
        body = parsed.get_body((subtype,)).get_content().replace("\r\n", "\n")
        if body.rstrip("\n") != rendered.rstrip("\n"):
            found.append(f"{subtype} body differs")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--papers", type=int, default=10, help="papers in each digest")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    pool = load_papers(max(args.papers * 50, 500))
    renderer = Renderer("https://papers.example.org", "Daily Papers", "Daily Papers <digest@papers.example.org>", Signer("k"))
    jobs = []
    for n in range(args.mails):
        start = (n * 7) % (len(pool) - args.papers)
        sections = [("Trending", pool[start : start + args.papers])]
        mail = {"kind": "digest", "subscriber_id": n + 1, "feed_token": secrets.token_urlsafe(24),
                "email": f"reader{n}@example.org", "period": "daily:2026-08-21"}  # fmt: skip
        jobs.append((mail, sections))
    idn_jobs = [({**mail, "email": f"user{n}@bücher.de" if n % 2 else f"jörg{n}@bücher.de"}, sections)
                for n, (mail, sections) in enumerate(jobs)]  # fmt: skip

    def hand(job):
        return renderer.message(*job)

    writers = {
        "hand-written (mime_alternative)": lambda p: mime_alternative(p[0], p[1], p[2], utf8=p[3]),
        "email package, policy SMTP": lambda p: email_package(p[0], p[1], p[2], email.policy.SMTP),
        "email package, SMTP, same mail": lambda p: email_package(p[0], p[1], p[2], email.policy.SMTP.clone(**SAME_MAIL), "base64"),
        "email package, SMTPUTF8, same mail": lambda p: email_package(p[0], p[1], p[2], email.policy.SMTPUTF8.clone(**SAME_MAIL), "base64"),
    }  # fmt: skip
    parts = [renderer.parts(*job) for job in jobs]
    idn_parts = renderer.parts(*idn_jobs[0])  # jörg0@bücher.de: a UTF-8 To header
    size = sum(len(hand(job)) for job in jobs[:50]) / 50
    runs = []  # (section, name, work, items, what differs)
    for section, render_too in (("whole mail (templates + message)", True), ("message only (bodies rendered beforehand)", False)):
        for name, write in writers.items():
            problems = differences(write(parts[0]), *parts[0][:3])
            if "SMTPUTF8" in name or "hand" in name:
                problems += [f"(IDN) {p}" for p in differences(write(idn_parts), *idn_parts[:3])]
            work = (lambda job, write=write: write(renderer.parts(*job))) if render_too else write
            runs.append((section, name, work, jobs if render_too else parts, "; ".join(problems) or "same mail"))
        if render_too:
            runs.append((section, "hand-written, IDN addresses", hand, idn_jobs, "A-label or SMTPUTF8, alternately"))
    best = [float("inf")] * len(runs)
    for _ in range(args.repeat):  # taking turns, so that a busy moment of the machine falls on all of them alike
        for n, (_, _, work, items, _) in enumerate(runs):
            best[n] = min(best[n], elapsed(work, items))
    print(f"{args.mails:,} digests of {args.papers} papers (about {size / 1024:.0f} kB each), best of {args.repeat} taking turns")
    for n, (section, name, _, items, note) in enumerate(runs):
        if n == 0 or runs[n - 1][0] != section:
            print(section)
        rate = len(items) / best[n]
        print(f"  {name:36s} {rate:8,.0f} mails/s  {1e6 / rate:6,.0f} µs a mail  {note}")

if __name__ == "__main__":
    main()
