"""Reading the reference libraries researchers export, and writing BibTeX back.

`read_library` reads, by the file name's extension or else by the content:

- BibTeX (`.bib`, `.bibtex`) as arXiv, Google Scholar, Zotero, Mendeley, DBLP and JabRef write it: braced
  and quoted values, nested braces, `#` concatenation, `@string` macros (and the month names), entries
  in `{...}` or `(...)`. `@comment` and `@preamble` are skipped, and so is text between entries (a `%`
  line there too, so a commented-out entry stays out).
- CSV (`.csv`): Zotero's export (its translator's column set: "Key","Item Type",...,"Title",
  "Publication Title",...,"DOI","Url",...,"Archive Location",...,"Extra",...,"Number",...), or any CSV
  whose header names a title column and/or a column of ids, URLs or DOIs. Commas, semicolons or tabs.
- A plain list (`.txt`, or pasted text): arXiv ids or URLs, one a line (several on a line may be
  separated by spaces or commas); blank lines and `#` comments are skipped.

The arXiv id of an entry is found, in this order, in:

- BibTeX: `eprint` (unless `archivePrefix`/`eprinttype` names another archive; a 7-digit old-style
  number takes its archive from `primaryClass`), `arxivid`/`arxiv` (Mendeley), DBLP/Semantic Scholar's
  `volume = {abs/<id>}`, then the text of `doi`, `url`, `howpublished`, `journal`, `note`, ...
- CSV: a column of ids (`arXiv ID`, `eprint`, `id`), then the text of Url, DOI, Number (Zotero's
  preprint "Archive ID"), Report Number, Extra, Archive Location, Publication Title, Link Attachments.
- In text, an id counts only where its context says arXiv: an `arxiv.org/abs|pdf|html/` URL, a
  Hugging Face `huggingface.co/papers/` URL, the DOI `10.48550/arXiv.<id>`, or an `arXiv:` prefix (as in
  Google Scholar's "arXiv preprint arXiv:2401.01234" and Zotero's "arXiv: 2401.01234"). Abstracts and
  Zotero's CSV Notes are never searched: they cite other papers.

Ids are returned as `normalize_id` gives them (no version), with an old-style id's subject class
dropped ("math.GT/0309136" is arXiv's "math/0309136"). An entry with no arXiv id is kept, with its
title, for matching by title. Entries with the same arXiv id are kept once, the first.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from ..records import InvalidRecord, normalize_id
from .latex import decode_accents

MAX_BYTES = 5_000_000
MAX_ENTRIES = 5_000

EXPORT_HINT = "export your library as BibTeX (.bib), as a Zotero CSV (.csv), or as a list of arXiv ids (.txt)"


class InvalidLibraryFile(ValueError):
    """The file cannot be read as a library; the message says what is wrong, where, and what to do."""


@dataclass(frozen=True)
class Entry:
    arxiv_id: str | None
    title: str | None
    label: str  # how a report names the entry to the reader: its BibTeX key, "line 12", or its title
    doi: str | None = None


def read_library(data: bytes, filename: str | None = None) -> list[Entry]:
    """The entries of an exported library (see the module's docstring); InvalidLibraryFile if it cannot be read."""
    text = _decode(data)
    kind = _format(text, filename)
    entries = {"bibtex": _read_bibtex, "csv": _read_csv, "list": _read_list}[kind](text)
    if not entries:
        raise InvalidLibraryFile(f"{_NOTHING_FOUND[kind]}: {EXPORT_HINT}")
    return _unique(entries)


_NOTHING_FOUND = {"bibtex": "found no BibTeX entry (like @article{key, title = {...}}) in the file",
                  "csv": "the CSV file has a header but no rows", "list": "found no arXiv id in the file"}  # fmt: skip


def _unique(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.arxiv_id is None or entry.arxiv_id not in seen:
            kept.append(entry)
            seen.add(entry.arxiv_id)
    return kept


def _count(entries: list, line: int) -> None:
    if len(entries) >= MAX_ENTRIES:
        raise InvalidLibraryFile(f"line {line}: the file holds more than {MAX_ENTRIES:,} references, the most one "
                                 "import takes: split it into smaller files")  # fmt: skip


# --- Bytes to text -----------------------------------------------------------------------------------

_BINARY_KINDS = {
    b"%PDF": "a PDF", b"PK\x03\x04": "a ZIP archive (an Excel, Word or OpenDocument file?)",
    b"\x1f\x8b": "a gzip archive", b"SQLite format 3\x00": "an SQLite database (zotero.sqlite?)",
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
}  # fmt: skip


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise InvalidLibraryFile(f"the file is {len(data) / 1e6:.1f} MB, and an import takes at most "
                                 f"{MAX_BYTES / 1e6:g} MB: split it into smaller files")  # fmt: skip
    for magic, kind in _BINARY_KINDS.items():
        if data.startswith(magic):
            raise InvalidLibraryFile(f"this is {kind}, not a library export: {EXPORT_HINT}")
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    text = _utf16(data) if utf16 else _utf8(_without_nul(data))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _without_nul(text)
    if not text.strip():
        raise InvalidLibraryFile(f"the file is empty: {EXPORT_HINT}")
    return text


def _without_nul(data):
    """`data` (bytes or text); InvalidLibraryFile naming the line of its first NUL, if it has one."""
    nul, newline = ("\0", "\n") if isinstance(data, str) else (b"\0", b"\n")
    if nul in data:
        line = data.count(newline, 0, data.index(nul)) + 1
        raise InvalidLibraryFile(f"line {line} holds a NUL byte: this is a binary file, not a text export: "
                                 f"{EXPORT_HINT}")  # fmt: skip
    return data


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidLibraryFile(f"line {line} is not UTF-8 text (byte 0x{data[exc.start]:02X}): save the file as "
                                 "UTF-8 and import it again") from None  # fmt: skip


def _utf16(data: bytes) -> str:  # Excel's "Unicode text" and some Windows tools write UTF-16
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError:
        raise InvalidLibraryFile("the file starts as UTF-16 text but is not: save it as UTF-8 and import it "
                                 "again") from None  # fmt: skip


_BIBTEX_START = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]+[ \t]*[{(]", re.M)


def _format(text: str, filename: str | None) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if suffix in ("bib", "bibtex"):
        return "bibtex"
    if suffix == "csv":
        return "csv"
    if _BIBTEX_START.search(text):  # BibTeX pasted or saved as .txt: no id list has a line like `@misc{`
        return "bibtex"
    if suffix != "txt" and _csv_header(text):
        return "csv"
    return "list"


# --- Finding arXiv ids ---------------------------------------------------------------------------------

_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?(?!\d)"
_ID_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html|format)/|(?:huggingface|hf)\.co/papers/|10\.48550/arxiv\.|\barxiv\s*:\s*)" + _ID,
    re.I,
)
_LEADING_ID = re.compile(r"\s*(?:arxiv\s*:\s*)?" + _ID, re.I)
_OLD_NUMBER = re.compile(r"\s*(\d{7})(?:v\d+)?\s*")
_ABS_VOLUME = re.compile(r"\s*abs/" + _ID + r"\s*", re.I)


def canonical_id(text: str) -> str:
    """normalize_id, and an old-style id without its subject class: arXiv names "math.GT/0309136" "math/0309136"."""
    ident = normalize_id(text)
    archive, slash, number = ident.partition("/")
    return f"{archive.split('.')[0]}/{number}" if slash else ident


def id_in_text(text: str | None) -> str | None:
    """The first arXiv id in `text` that its context marks as one (a URL, the arXiv DOI, an `arXiv:` prefix)."""
    match = _ID_IN_TEXT.search(text or "")
    return canonical_id(match["id"]) if match else None


def bare_id(text: str | None, primary_class: str | None = None) -> str | None:
    """The arXiv id a field made for one holds ("2401.01234v2", "arXiv:hep-th/9901001", "2401.01234 [cs.CL]");
    a 7-digit old-style number takes its archive from `primary_class`."""
    if not text:
        return None
    match = _LEADING_ID.match(text)
    if match:
        return canonical_id(match["id"])
    number = _OLD_NUMBER.fullmatch(text)
    if number and primary_class and re.fullmatch(r"[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]{2})?", primary_class.strip()):
        return canonical_id(f"{primary_class.strip()}/{number[1]}")
    return id_in_text(text)


def _reference_id(token: str) -> str | None:
    """An id-list token: a bare id, or any URL or DOI with an arXiv id in it."""
    token = token.strip("<>()[]\"'")
    try:
        return canonical_id(token)
    except InvalidRecord:
        return id_in_text(token)


def _clean_doi(text: str | None) -> str | None:
    doi = re.sub(r"^\s*(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", text or "", flags=re.I).strip()
    return doi or None


# --- Plain lists -------------------------------------------------------------------------------------

_LIST_COMMENT = re.compile(r"(?:^|\s)#.*")


def _read_list(text: str) -> list[Entry]:
    entries: list[Entry] = []
    bad: dict[int, str] = {}  # number -> line, of the lines with something that is not an id
    for number, line in enumerate(text.split("\n"), 1):
        line = _LIST_COMMENT.sub("", line).strip()
        for token in filter(None, re.split(r"[\s,;]+", line)):
            ident = _reference_id(token)
            if ident:
                _count(entries, number)
                entries.append(Entry(ident, None, f"line {number}"))
            else:
                bad[number] = line
    if bad:
        raise _bad_lines(bad)
    return entries


def _bad_lines(bad: dict[int, str]) -> InvalidLibraryFile:
    number, line = next(iter(bad.items()))
    shown = line if len(line) <= 60 else line[:57] + "..."
    others = f" (and {len(bad) - 1} more line{'s' * (len(bad) > 2)} like it)" if len(bad) > 1 else ""
    return InvalidLibraryFile(f"line {number}: {shown!r} is neither an arXiv id (like 2401.01234 or hep-th/9901001) "
                              f"nor an arxiv.org URL{others}: put one id or URL on each line, or import a BibTeX "
                              "or CSV file")  # fmt: skip


# --- CSV ------------------------------------------------------------------------------------------------

# Column names (lower case, "_" and "-" as spaces) -> how an arXiv id is read from them.
_ID_COLUMNS = ("arxiv id", "arxivid", "arxiv", "eprint", "archive id", "id")  # the id itself
_TEXT_COLUMNS = ("url", "doi", "number", "report number", "extra", "archive location", "publication title",
                 "journal", "link", "pdf", "link attachments")  # fmt: skip  # ids in context only


@dataclass(frozen=True)
class _Columns:
    title: int | None
    ids: list[int]
    texts: list[int]
    doi: int | None


def _column_name(cell: str) -> str:
    return " ".join(cell.strip().lstrip("\ufeff").lower().replace("_", " ").replace("-", " ").split())


def _columns(header: list[str]) -> _Columns | None:
    names = [_column_name(cell) for cell in header]

    def where(wanted: Iterable[str]) -> list[int]:
        return [names.index(name) for name in wanted if name in names]

    title, doi = where(["title"]), where(["doi"])
    columns = _Columns(title[0] if title else None, where(_ID_COLUMNS), where(_TEXT_COLUMNS), doi[0] if doi else None)
    return columns if columns.title is not None or columns.ids or columns.texts else None


def _delimiter(first_line: str) -> str:
    return max(",;\t", key=first_line.count)


def _first_line(text: str) -> str:
    return text.lstrip("\n").split("\n", 1)[0]


def _csv_header(text: str) -> _Columns | None:
    first = _first_line(text)
    if not any(d in first for d in ",;\t"):
        return None
    try:
        header = next(csv.reader([first], delimiter=_delimiter(first)))
    except csv.Error:
        return None
    return _columns(header)


def _read_csv(text: str) -> list[Entry]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(_first_line(text)), strict=True)
    entries: list[Entry] = []
    start = 1  # the line the row being read starts on
    try:
        columns = _columns(next(row for row in reader if row))
        if columns is None:
            raise InvalidLibraryFile(f"line {reader.line_num}: this CSV's header names no Title column and no "
                                     "column of arXiv ids, URLs or DOIs: export it from Zotero (File > Export "
                                     "Library > CSV), or name the columns Title and URL")  # fmt: skip
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                _count(entries, start)
                entries.append(_csv_entry(row, columns, start))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidLibraryFile(f"line {start}: this row is not valid CSV ({exc}): check its quotes, or export "
                                 "the file again") from None  # fmt: skip
    return entries


def _csv_entry(row: list[str], columns: _Columns, line: int) -> Entry:
    def cell(index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""

    ident = next(filter(None, (bare_id(cell(i)) for i in columns.ids)), None)
    ident = ident or next(filter(None, (id_in_text(cell(i)) for i in columns.texts)), None)
    title = " ".join(cell(columns.title).split()) or None
    return Entry(ident, title, title or f"line {line}", _clean_doi(cell(columns.doi)))


# --- BibTeX ---------------------------------------------------------------------------------------------

_MONTHS = {m: m.capitalize() for m in "jan feb mar apr may jun jul aug sep oct nov dec".split()}  # BibTeX's own
_ENTRY_HEAD = re.compile(r"@\s*([A-Za-z][\w-]*)\s*([{(])")
_NAME = re.compile(r"[^\s\"#%'(),={}@]+")
_FIELD_OUTSIDE = re.compile(r"\s*[A-Za-z][\w-]*\s*=\s*[{\"]")
_ENTRY_INSIDE = re.compile(r"\n\s*(@)\s*[A-Za-z]+\s*[{(]")
_KEY = {"}": re.compile(r"[^\s,{}=]*"), ")": re.compile(r"[^\s,{}=)]*")}
_BRACES = re.compile(r"[{}]")
_QUOTE_OR_BRACES = re.compile(r"[{}\"]")
# Where an arXiv id may sit in a BibTeX entry, after the fields made for one (see the docstring).
_TEXT_FIELDS = ("doi", "url", "howpublished", "journal", "journaltitle", "note", "eprint", "number", "booktitle",
                "publisher", "pdf", "link", "archivelocation")  # fmt: skip


def _read_bibtex(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for key, line, fields in _BibtexReader(text).entries():
        _count(entries, line)
        entries.append(_bibtex_entry(key, line, fields))
    return entries


def _bibtex_entry(key: str, line: int, fields: dict[str, str]) -> Entry:
    title = latex_to_text(fields.get("title"))
    return Entry(_bibtex_arxiv_id(fields), title, key or f"line {line}", _clean_doi(latex_to_text(fields.get("doi"))))


def _bibtex_arxiv_id(fields: dict[str, str]) -> str | None:
    def plain(name: str) -> str:
        return latex_to_text(fields.get(name)) or ""

    archive = (plain("archiveprefix") or plain("eprinttype")).lower()
    candidates = [bare_id(plain("eprint"), plain("primaryclass")) if archive in ("", "arxiv") else None]
    candidates += [bare_id(plain(name)) for name in ("arxivid", "arxiv", "arxiv_id", "arxiv-id")]
    volume = _ABS_VOLUME.fullmatch(plain("volume"))  # DBLP's and Semantic Scholar's `journal={CoRR}, volume={abs/<id>}`
    candidates.append(canonical_id(volume["id"]) if volume else None)
    candidates += [id_in_text(plain(name)) for name in _TEXT_FIELDS]
    return next(filter(None, candidates), None)


class _BibtexReader:
    """Reads entries as (key, line, {field name in lower case: raw value}); @string macros are expanded."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.strings = dict(_MONTHS)
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int | None = None) -> int:
        return bisect_left(self.newlines, self.pos if pos is None else pos) + 1

    def fail(self, message: str, pos: int | None = None) -> InvalidLibraryFile:
        return InvalidLibraryFile(f"line {self.line(pos)}: {message}")

    def entries(self):
        while self._to_next_entry():
            start = self.pos
            head = _ENTRY_HEAD.match(self.text, self.pos)
            kind, close = head[1].lower(), "}" if head[2] == "{" else ")"
            self.pos = head.end()
            if kind in ("comment", "preamble"):
                self._skip_block(start, close, kind)
            elif kind == "string":
                self._string(start, close)
            else:
                key = self._key(start, close, kind)
                yield key, self.line(start), self._fields(start, close, key)

    # Between entries

    def _to_next_entry(self) -> bool:
        """Move to the next `@type{`; False at the end. Text between entries is a comment, as BibTeX reads it."""
        while self.pos < len(self.text):
            end = self.text.find("\n", self.pos)
            end = len(self.text) if end < 0 else end
            line = self.text[self.pos : end]
            if not line.lstrip().startswith("%"):
                at = line.find("@")
                self._check_stray(line[: at if at >= 0 else len(line)])
                if at >= 0 and _ENTRY_HEAD.match(self.text, self.pos + at):  # `@article` and `{` may be lines apart
                    self.pos += at
                    return True
                if at >= 0 and not line[:at].strip():
                    word = line[at:].split()[0]
                    raise self.fail(f"{word!r} is not followed by '{{': an entry reads @type{{key, field = "
                                    "{value}, ...}")  # fmt: skip
            self.pos = end + 1
        return False

    def _check_stray(self, text: str) -> None:
        # BibTeX ignores this text, but it is what an entry closed too early leaves behind: say so.
        if _FIELD_OUTSIDE.match(text) or text.strip().startswith("}"):
            raise self.fail("this is outside any entry: the entry before it was closed too early, most likely by "
                            "an extra '}' in one of its values")  # fmt: skip

    def _skip_block(self, start: int, close: str, kind: str) -> None:
        self.pos = start + self.text[start:].index("{" if close == "}" else "(")
        if close == "}":  # it may hold commented-out entries: no check that it runs into one
            self.pos = self._braced_end(f"the @{kind}", start)
            return
        end = self.text.find(")", self.pos)
        if end < 0:
            raise self.fail(f"the @{kind}( here is never closed: a ')' is missing", start)
        self.pos = end + 1

    def _string(self, start: int, close: str) -> None:
        self._skip_space()
        name = _NAME.match(self.text, self.pos)
        if not name:
            raise self.fail("this @string has no name: it reads @string{name = {value}}", start)
        self.pos = name.end()
        self._expect_equals(name[0], "@string")
        self.strings[name[0].lower()] = self._value(name[0], "@string")
        self._skip_space()
        if not self.text.startswith(close, self.pos):
            raise self.fail(f"the @string {name[0]!r} is not closed by '{close}' after its value")
        self.pos += 1

    # Inside an entry

    def _key(self, start: int, close: str, kind: str) -> str:
        self._skip_space()
        match = _KEY[close].match(self.text, self.pos)
        self.pos = match.end()
        self._skip_space()
        following = self.text[self.pos : self.pos + 1]
        if following == "=" or not match[0] and following not in (",", close):
            raise self.fail(f"the @{kind} entry has no key: an entry starts @type{{key, ...", start)
        if following not in (",", close):
            raise self.fail(f"the ',' after the key of the @{kind} entry {match[0]!r} is missing: an entry starts "
                            "@type{key, ...", start)  # fmt: skip
        return match[0]

    def _fields(self, start: int, close: str, key: str) -> dict[str, str]:
        fields: dict[str, str] = {}
        entry = f"entry {key!r}" if key else "the entry"
        while True:
            self._skip_space(comments=True)
            following = self.text[self.pos : self.pos + 1]
            if not following:
                raise self.fail(f"{entry} is never closed: the file ends before its '{close}'", start)
            if following == "@":
                raise self.fail(f"{entry} (line {self.line(start)}) is not closed before the next entry: a "
                                f"'{close}' is missing at its end")  # fmt: skip
            if following in (",", close):
                self.pos += 1
                if following == close:
                    return fields
                continue
            name = self._field_name(entry)
            value_start = self.pos
            fields.setdefault(name.lower(), self._value(name, entry))
            value_end = self.pos
            self._skip_space()
            following = self.text[self.pos : self.pos + 1]
            if following == "@":  # the value took in the brace that closes the entry
                raise self.fail(f"in {entry}, a '}}' is missing in the value of {name!r}: it runs on to the end of the "
                                f"entry (line {self.line(value_end)})", value_start)  # fmt: skip
            if following not in (",", close, ""):
                raise self.fail(f"in {entry}, a ',' is missing after the value of {name!r}", value_end)

    def _field_name(self, entry: str) -> str:
        name = _NAME.match(self.text, self.pos)
        if not name:
            raise self.fail(f"in {entry}, {self.text[self.pos]!r} is where a field name should be: fields read "
                            "name = {value}, separated by commas")  # fmt: skip
        self.pos = name.end()
        self._expect_equals(name[0], entry)
        return name[0]

    def _expect_equals(self, name: str, entry: str) -> None:
        self._skip_space()
        if not self.text.startswith("=", self.pos):
            raise self.fail(f"in {entry}, {name!r} is not followed by '=': fields read name = {{value}}")
        self.pos += 1

    def _value(self, name: str, entry: str) -> str:
        """A value: parts joined by `#`, each {braced}, "quoted", a number or a @string name."""
        parts = []
        while True:
            self._skip_space()
            first = self.text[self.pos : self.pos + 1]
            if first == "{":
                what = f"the value of {name!r} in {entry}"
                parts.append(self._closed_value(what, self.pos, self._braced_end(what, self.pos), "}"))
            elif first == '"':
                parts.append(self._quoted(f"the value of {name!r} in {entry}"))
            elif macro := _NAME.match(self.text, self.pos):
                self.pos = macro.end()
                word = macro[0]
                # a number (BibTeX wants digits, `eprint = 2401.01234` is read too), else a macro: unknown ones are
                # empty, as BibTeX makes them
                parts.append(word if word[0].isdigit() else self.strings.get(word.lower(), ""))
            else:
                raise self.fail(f"in {entry}, the value of {name!r} is missing: it should start with '{{', '\"', a "
                                "number or a @string name")  # fmt: skip
            end = self.pos
            self._skip_space()
            if not self.text.startswith("#", self.pos):
                self.pos = end
                return "".join(parts)
            self.pos += 1

    def _braced_end(self, what: str, start: int) -> int:
        """Where the brace at self.pos closes (BibTeX counts every brace, escaped or not)."""
        depth = 0
        for brace in _BRACES.finditer(self.text, self.pos):
            depth += 1 if brace[0] == "{" else -1
            if depth == 0:
                return brace.end()
        raise self.fail(f"the '{{' that opens {what} is never closed: a '}}' is missing", start)

    def _quoted(self, what: str) -> str:
        depth = 0
        for mark in _QUOTE_OR_BRACES.finditer(self.text, self.pos + 1):
            if mark[0] == '"' and depth == 0:
                return self._closed_value(what, self.pos, mark.end(), '"')
            depth += {"{": 1, "}": -1, '"': 0}[mark[0]]
            if depth < 0:
                break
        raise self.fail(f"the '\"' that opens {what} is never closed: a '\"' is missing", self.pos)

    def _closed_value(self, what: str, start: int, end: int, closer: str) -> str:
        value = self.text[start + 1 : end - 1]
        runaway = _ENTRY_INSIDE.search(value)
        if runaway:  # an unbalanced value swallows the entries after it until its braces happen to balance
            raise self.fail(f"{what} runs on into the entry on line {self.line(start + 1 + runaway.start(1))}: "
                            f"a '{closer}' is missing in it", start)  # fmt: skip
        self.pos = end
        return value

    def _skip_space(self, comments: bool = False) -> None:
        while True:
            while self.pos < len(self.text) and self.text[self.pos].isspace():
                self.pos += 1
            if not (comments and self.text.startswith("%", self.pos)):
                return
            end = self.text.find("\n", self.pos)  # a `%` line between fields, as biber allows
            self.pos = len(self.text) if end < 0 else end


# --- LaTeX to text and back ---------------------------------------------------------------------------

_SYMBOL_COMMANDS = {
    "textbackslash": "\\", "textasciitilde": "~", "textasciicircum": "^", "textbraceleft": "{",
    "textbraceright": "}", "textunderscore": "_", "textquotedbl": '"',
}  # fmt: skip
_ESCAPED_CHARS = {"&": "&", "%": "%", "#": "#", "_": "_", "$": "$", "{": "{", "}": "}", " ": " ", ",": " ", "-": "",
                  "/": "", "\\": " "}  # fmt: skip
_FORMAT_COMMANDS = {"emph", "textit", "textbf", "textsc", "texttt", "textrm", "textsf", "textsl", "textup",
                    "textnormal", "textsuperscript", "textsubscript", "mbox", "text", "em", "it", "bf", "sc", "tt",
                    "rm", "sf", "sl", "url", "protect", "relax", "noopsort"}  # fmt: skip
# Symbols and escaped characters stand in as private-use characters while decode_accents runs, so that
# its brace removal cannot join `\textbackslash{}` to the letters after it.
_SYMBOLS = re.compile(r"\\(" + "|".join(_SYMBOL_COMMANDS) + r")(?![A-Za-z])\s*(?:\{\})?|\\([&%#_${} ,\-/\\])")
_PLACEHOLDERS = {chr(0xE000 + i): c
                 for i, c in enumerate(dict.fromkeys([*_SYMBOL_COMMANDS.values(), *_ESCAPED_CHARS.values()]))}
_PLACEHOLDER_OF = {c: p for p, c in _PLACEHOLDERS.items()}
# Control words decode_accents reads ("\\c{c}", "\\o"); it joins any other to the braced text after it.
_ACCENT_COMMANDS = {*"uvHckr", "ss", "ae", "AE", "oe", "OE", "aa", "AA", *"oOlLij"}
_WORD_COMMAND = re.compile(r"\\([A-Za-z]+)")


def latex_to_text(value: str | None) -> str | None:
    """A BibTeX value as plain text: accents decoded, grouping braces, formatting commands and escapes gone,
    whitespace collapsed. `$...$` math stays as written, as arXiv keeps it in titles."""
    if value is None:
        return None
    text = "".join(piece if math else _text_piece(piece) for math, piece in _math_pieces(value))
    return " ".join(text.split()) or None


def _text_piece(text: str) -> str:
    text = _SYMBOLS.sub(lambda m: _PLACEHOLDER_OF[_SYMBOL_COMMANDS[m[1]] if m[1] else _ESCAPED_CHARS[m[2]]], text)
    text = _WORD_COMMAND.sub(_command_text, text)
    text = decode_accents(text)
    text = text.replace("{", "").replace("}", "").replace("~", " ")
    return "".join(_PLACEHOLDERS.get(c, c) for c in text)


def _command_text(match: re.Match) -> str:
    word = match[1]
    if word in _ACCENT_COMMANDS:
        return match[0]
    return "" if word in _FORMAT_COMMANDS else word  # \LaTeX -> LaTeX


def _math_pieces(text: str) -> list[tuple[bool, str]]:
    """(is math, piece) pieces of `text`; an unclosed `$` is text."""
    pieces, start, math, i = [], 0, False, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "$":
            end = i + 1 if math else i
            pieces.append((math, text[start:end]))
            start, math = end, not math
        i += 1
    pieces.append((False, text[start:]))
    return pieces


# Literal braces are written as commands: BibTeX counts every brace, so "\\{" alone would unbalance the value.
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&",
                 "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}"}  # fmt: skip
_TEXT_SPECIALS = re.compile("[" + re.escape("".join(_TEXT_ESCAPES)) + "]")


def text_to_latex(text: str) -> str:
    """Plain text as a BibTeX value that latex_to_text reads back the same (whitespace collapsed): special
    characters escaped, `$...$` math kept as written where its braces balance."""
    text = " ".join(text.split())
    pieces = _math_pieces(text)
    if not all(_balanced(piece) for math, piece in pieces if math):
        pieces = [(False, text)]
    return "".join(piece if math else _TEXT_SPECIALS.sub(lambda m: _TEXT_ESCAPES[m[0]], piece)
                   for math, piece in pieces)  # fmt: skip


def _balanced(text: str) -> bool:
    depth = 0
    for brace in _BRACES.finditer(text):
        depth += 1 if brace[0] == "{" else -1
        if depth < 0:
            return False
    return depth == 0


# --- Writing BibTeX ---------------------------------------------------------------------------------------

_KEY_STOPWORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "is", "are", "from", "by", "at",
                  "as", "via", "do", "does", "how", "what", "why", "when", "towards", "toward", "into"}  # fmt: skip
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def to_bibtex(papers: Iterable[dict]) -> str:
    """One @misc per paper, in arXiv's own style (key: first author's last name, year, first title word)."""
    keys: set[str] = set()
    return "\n".join(_bibtex_record(paper, _unique_key(_citation_key(paper), keys)) for paper in papers)


def _bibtex_record(paper: dict, key: str) -> str:
    ident = paper["id"]
    names = [a["name"] for a in paper.get("authors") or () if a.get("name")]
    fields = {
        "title": text_to_latex(paper["title"]) if paper.get("title") else None,
        "author": " and ".join(_bibtex_name(n) for n in names) or None,
        "year": _year(paper),
        "eprint": ident,
        "archivePrefix": "arXiv",
        "primaryClass": (paper.get("categories") or [None])[0],
        "url": f"https://arxiv.org/abs/{ident}",
    }
    lines = [f"      {name}={{{value}}}," for name, value in fields.items() if value]
    return "\n".join([f"@misc{{{key},", *lines, "}", ""])


def _bibtex_name(name: str) -> str:
    name = text_to_latex(name)
    return f"{{{name}}}" if re.search(r"\band\b", name, re.I) else name  # "ATLAS and CMS" is one name


def _year(paper: dict) -> str | None:
    year = (paper.get("published_at") or "")[:4]
    return year if year.isdigit() else None


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _citation_key(paper: dict) -> str:
    authors = [a["name"] for a in paper.get("authors") or () if a.get("name")]
    last = ""
    if authors:
        name = authors[0].split(",")[0] if "," in authors[0] else authors[0]
        words = [w for w in name.split() if w.lower() not in _NAME_SUFFIXES] or name.split()
        last = _ascii_word(words[-1]) if words else ""
    title_words = (_ascii_word(w) for w in re.split(r"[\s\-:/]+", paper.get("title") or ""))
    first_word = next((w for w in title_words if w and w not in _KEY_STOPWORDS), "")
    return f"{last or 'anonymous'}{_year(paper) or ''}{first_word}"


def _unique_key(key: str, taken: set[str]) -> str:
    unique, n = key, 1
    while unique in taken:
        n += 1
        unique = f"{key}-{n}"
    taken.add(unique)
    return unique
