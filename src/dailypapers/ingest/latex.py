"""Turn the TeX accents arXiv metadata uses in names and titles ("Bj\\"orn", "{\\o}") into Unicode."""

import re
import unicodedata

_COMBINING = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
    "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328", "r": "\u030a",
}  # fmt: skip
_LETTERS = {
    "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "aa": "å", "AA": "Å", "i": "ı", "j": "ȷ",
}  # fmt: skip
_SYMBOL_ACCENT = re.compile(r"""\\(["'`^~=.])\s*(?:\{\s*\\?([A-Za-z])\s*\}|\\?([A-Za-z]))""")
_LETTER_ACCENT = re.compile(r"\\([uvHckr])(?:\s*\{\s*\\?([A-Za-z])\s*\}|\s+\\?([A-Za-z]))")
_SPECIAL = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|[oOlLij])(?![A-Za-z])\s*")
_BRACED_LETTERS = re.compile(r"\{([^{}$\\]*)\}")


def _accent(match: re.Match) -> str:
    letter = match.group(2) or match.group(3)
    letter = "ı" if letter == "i" else letter
    return unicodedata.normalize("NFC", letter + _COMBINING[match.group(1)])


def decode_accents(text: str | None) -> str | None:
    if not text or "\\" not in text and "{" not in text:
        return text
    text = _SYMBOL_ACCENT.sub(_accent, text)
    text = _LETTER_ACCENT.sub(_accent, text)
    text = _SPECIAL.sub(lambda m: _LETTERS[m.group(1)], text)
    if "$" not in text:
        text = _BRACED_LETTERS.sub(r"\1", text)
    return text
