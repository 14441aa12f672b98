"""Text files from Chinese offices: detect UTF-8 (with or without BOM), GBK/GB18030, Big5, UTF-16."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pandas as pd

from wuzhong_geo.errors import InputError

_BLOCK = 4 << 20
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Candidates charset-normalizer arbitrates between once strict UTF-8 has failed.
_LEGACY = ["gb18030", "big5"]


def _decodes(path: Path, encoding: str) -> tuple[bool, int]:
    """Strictly decode the whole file block by block; return (ok, byte offset of the first error)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return False, offset + exc.start
            if not block:
                return True, -1
            offset += len(block)


def _is_common(char: str, codec: str) -> bool:
    try:
        encoded = char.encode("gb2312" if codec == "gb18030" else codec)
    except UnicodeEncodeError:
        return False
    # GB2312 holds the common simplified characters; Big5 lead bytes A4–C6 hold its 常用字.
    return codec == "gb18030" or 0xA4 <= encoded[0] <= 0xC6


def _common_share(head: bytes, codec: str) -> float:
    """Share of the CJK characters of ``head`` decoded with ``codec`` that are common characters."""
    text = head.decode(codec, errors="ignore")
    cjk = [c for c in text if "\u3400" <= c <= "\u9fff"]
    return sum(_is_common(c, codec) for c in cjk) / len(cjk) if cjk else 0.0


def _line_of(path: Path, offset: int) -> int:
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def detect_encoding(path: str | Path) -> str:
    """Return the Python codec of a text file, or raise InputError if it is not consistent text.

    Order: byte-order mark, strict UTF-8, then charset-normalizer choosing between GB18030 (a
    superset of GBK/GB2312) and Big5; the choice is verified by decoding the whole file.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if not head:
        raise InputError(f"{path.name}: 文件为空 / the file is empty")
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    ok, _ = _decodes(path, "utf-8")
    if ok:
        return "utf-8"
    import charset_normalizer  # only for files that are not UTF-8 (most are): it costs a start-up 60 ms

    best = charset_normalizer.from_bytes(head, cp_isolation=_LEGACY).best()
    candidates = ([best.encoding] if best is not None else []) + [
        c for c in _LEGACY if best is None or c != best.encoding
    ]
    first_error = None
    decoding = []
    for codec in candidates:
        ok, offset = _decodes(path, codec)
        if ok:
            decoding.append(codec)
        elif codec == "gb18030":
            first_error = offset
    if decoding:
        # Short files fool statistical detection (a few GBK words read as Big5 and back); when
        # both decode, the right one is the one whose characters are the common ones of its set.
        # A tie (a few characters common in both sets) goes to GB18030: these files come from mainland offices.
        return max(decoding, key=lambda codec: (_common_share(head, codec), codec == "gb18030"))
    where = (
        f"（第 {_line_of(path, first_error)} 行附近 / near line {_line_of(path, first_error)}）"
        if first_error
        else ""
    )
    raise InputError(
        f"{path.name}: 无法识别文件编码{where}：既不是 UTF-8 也不是 GBK/GB18030，可能混合了两种编码或不是文本文件。"
        "请在 Excel 中“另存为 CSV UTF-8”后重试，或用 --encoding 指定。 / cannot detect the encoding "
        "(not UTF-8, not GBK/GB18030; mixed encodings or not a text file?). Save as 'CSV UTF-8' or pass --encoding."
    )


def detect_bytes_encoding(data: bytes) -> str | None:
    """The codec of text bytes with no declared encoding: ascii, utf-8, gb18030 or big5; None if none fits.

    Of the codecs that decode the bytes strictly (UTF-8, GB18030, Big5), the one that reads the
    most of them as Chinese characters (two GBK bytes can be valid UTF-8 for a Cyrillic letter),
    then the one whose characters are the common ones of its set; ties go to UTF-8, then GB18030.
    """
    if data.isascii():
        return "ascii"
    scores = {}
    for rank, codec in enumerate(("utf-8", *_LEGACY)):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        wide = [c for c in text if not c.isascii()]
        cjk = sum("\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in wide) / len(wide)
        scores[codec] = (cjk, 1.0 if codec == "utf-8" else _common_share(data, codec), -rank)
    return max(scores, key=scores.get) if scores else None


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Return ``(text, encoding)`` of a text file, detecting the encoding unless given."""
    path = Path(path)
    from wuzhong_geo import limits

    if encoding is not None:
        check_encoding(encoding)
    limits.check("max_text_bytes", path.stat().st_size, path.name)
    codec = encoding or detect_encoding(path)
    try:
        return path.read_text(encoding=codec), codec
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name}: 不能按 {codec} 解码（第 {_line_of(path, exc.start)} 行附近）；请换 --encoding 或不指定以自动识别 / "
            f"cannot decode as {codec} (near line {_line_of(path, exc.start)}); try another --encoding or omit it"
        ) from None


def check_encoding(encoding: str) -> str:
    """Return the codec name of ``encoding`` (e.g. --encoding gbk) or raise InputError for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"--encoding {encoding!r}: 未知的编码，可用 utf-8、gbk、gb18030、big5，或不指定以自动识别 / unknown "
            "encoding; use utf-8, gbk, gb18030, big5, or omit it to detect"
        ) from None


def _delimiter(first_line: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    try:  # the Sniffer's regexes are slow on a huge line: 64 KB tell the delimiter as well
        return csv.Sniffer().sniff(first_line[: 1 << 16], delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def read_csv_text(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read a delimited text table as text cells (any common encoding; comma, tab or semicolon).

    Column count is bounded (:mod:`wuzhong_geo.limits`) before parsing; a row with too many fields
    is an InputError naming its line. ``df.attrs["encoding"]`` tells the encoding used.
    """
    from wuzhong_geo import limits

    path = Path(path)
    text, codec = read_text(path, encoding)
    if not text.strip():
        raise InputError(f"{path.name}: 文件为空 / the file is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line, path.suffix.lower())
    # counting delimiters is instant; parsing a megabyte header with csv is not (quotes only lower the count)
    columns = first_line.count(delimiter) + 1
    if columns > limits.get("max_columns") and len(first_line) < 1 << 20:
        columns = len(next(csv.reader(io.StringIO(first_line), delimiter=delimiter), []))
    limits.check("max_columns", columns, f"{path.name} 第 1 行 / line 1")
    limits.check("max_rows", text.count("\n"), path.name)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter)
    except (pd.errors.ParserError, ValueError) as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        detail = (f"第 {found.group(2)} 行有 {found.group(3)} 个字段，表头只有 {found.group(1)} 个 / line "
                  f"{found.group(2)} has {found.group(3)} fields, the header {found.group(1)}" if found
                  else type(exc).__name__)
        raise InputError(f"{path.name}: 无法按 CSV 解析（{detail}）；请检查该行的分隔符或引号 / cannot parse as CSV "
                         f"({detail}); check that line's delimiters and quotes") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["encoding"] = codec
    return frame
