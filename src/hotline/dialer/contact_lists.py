"""Reading a campaign's contact list: a CSV or XLSX file, as operators export them.

Lists come from CRMs and spreadsheets: comma-, semicolon- (European Excel) or
tab-separated, UTF-8 with or without a BOM, GBK from a Chinese Excel, UTF-16 from Excel's
"Unicode text", or an XLSX workbook whose phone column Excel has turned into numbers. This
module turns such a file, with a :class:`ColumnMapping` the operator chose from
:func:`header_of`, into contacts with E.164 numbers, and reports every row or cell it could
not use with its line number, so the operator can fix the file rather than guess.

Two kinds of trouble are kept apart. A bad row or cell (a number that is not one, an
unknown time zone) is a :class:`LineProblem`: the rest of the list is still good and is
imported. A file that cannot be read at all (not CSV or XLSX, undecodable, empty, a mapped
column missing, too many rows) raises :class:`ContactListError`, with a message for the
operator; no input makes this module raise anything else.

Rows that share a phone number are one person (a CRM exporting a contact once per deal,
two lists pasted together), and calling them twice is a nuisance call, so they are merged
into the earliest (see :func:`read_contact_list`). Line numbers are spreadsheet rows: the
header is line 1, and a CSV record with a quoted line break still counts as one line.

Pure code: it reads bytes it is given, never the file system. It is CPU-bound (about 60 us
a row, most of it libphonenumber's, so some 12 s for 200 000 rows): callers run it off the
event loop.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import zipfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.dialer.numbers import InvalidNumberError, check_region, normalize_number

#: Files larger than this are refused before they are parsed (200 000 rows of a dozen
#: columns fit in about a tenth of it).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: An XLSX is a zip: its parts, uncompressed, may not add up to more than this (a small
#: file that inflates to gigabytes is an attack, not a list).
MAX_XLSX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
#: How much of a CSV the delimiter sniffer reads.
_SNIFF_CHARS = 16 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
_XLSX_SUFFIXES = (".xlsx", ".xlsm")


class ContactListError(ValueError):
    """The whole file is unusable; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which header names hold what. Names are matched ignoring case and spaces around."""

    #: Columns holding phone numbers, best first (at least one).
    phone: tuple[str, ...]
    name: str | None = None
    #: An IANA time-zone column (Asia/Shanghai); without it the number's zone is used.
    time_zone: str | None = None
    #: The contact's id elsewhere (a CRM id).
    external_id: str | None = None
    #: A whole-number column; higher dials first.
    priority: str | None = None
    #: Other columns kept as the contact's data (shown on the agent's preview card).
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.phone, str):
            # ColumnMapping(phone="mobile") would otherwise map the columns m, o, b, i ...
            raise TypeError("phone is a tuple of column names: phone=('mobile',)")
        if not self.phone:
            raise ValueError("a contact list needs at least one phone column")

    def columns(self) -> list[str]:
        """Every mapped column, each once, phones first."""
        named = [self.name, self.time_zone, self.external_id, self.priority]
        columns = [*self.phone, *(c for c in named if c is not None), *self.fields]
        return list(dict.fromkeys(columns))


@dataclass(frozen=True, slots=True)
class ListedContact:
    """One person of the list, possibly from several rows."""

    #: The first line it came from (the header is line 1).
    line: int
    #: Every line merged into it, in order.
    lines: tuple[int, ...]
    #: E.164, without duplicates, in column order (the first row's first).
    phones: tuple[str, ...]
    name: str
    time_zone: str | None
    external_id: str | None
    priority: int
    #: The mapping's ``fields``, by the mapping's names ("" for an empty cell).
    data: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A row skipped, or a cell ignored, and why."""

    line: int
    #: The column at fault, as the mapping names it; None when it is the whole row.
    column: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ListImport:
    """What a list gave: the contacts, and what could not be used."""

    contacts: tuple[ListedContact, ...]
    problems: tuple[LineProblem, ...]
    #: Data rows read (blank rows are not counted).
    rows: int
    #: Rows merged into an earlier contact: ``rows - skipped rows - len(contacts)``.
    merged: int


# -- reading rows ----------------------------------------------------------------------------


def _is_xlsx(content: bytes, filename: str) -> bool:
    return filename.lower().endswith(_XLSX_SUFFIXES) or content.startswith(_ZIP_MAGIC)


def _check_size(content: bytes) -> None:
    if len(content) > MAX_FILE_BYTES:
        raise ContactListError(
            f"the file is too large ({len(content) // (1024 * 1024)} MiB; at most "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MiB): split the list"
        )
    if not content.strip():
        raise ContactListError("the file is empty")
    if content.startswith(_OLE_MAGIC):
        raise ContactListError(
            "this is an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV and upload again"
        )


def _decode(content: bytes) -> str:
    """The text of a CSV: UTF-16 by its BOM, else UTF-8 (BOM or not), else GB18030.

    GB18030 is a superset of GBK and GB2312, what Chinese Excel writes. It accepts most byte
    strings, so UTF-8 is tried first (valid UTF-8 that is meant as GBK is vanishingly rare
    for text of any length).
    """
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: Sequence[str] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ContactListError(
        "the file is neither CSV text (UTF-8, GBK/GB18030 or UTF-16) nor an XLSX workbook"
    )


def _delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        # Whole lines only: a cut line looks like a row with fewer columns.
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        # One column, or too little text to tell: a comma is the common case.
        return ","


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    line = 0
    try:
        for row in reader:
            line += 1
            yield row
    except csv.Error as exc:
        raise ContactListError(f"line {line + 1}: the CSV is malformed ({exc})") from None


def _cell_text(value: object) -> str:
    """An XLSX cell as the operator sees it, not as Python prints it.

    Excel stores a phone number typed without a leading 0 or + as a float: 13800138000.0
    must read "13800138000", not "1.38e10" or "13800138000.0". Integral floats up to 2^53
    are exact, which is every possible phone number (at most 15 digits).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2.0**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        # Excel has no dates, only date-times: a birthday is a datetime at midnight.
        return value.date().isoformat()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    # openpyxl is imported here: a CSV import (the common case) should not pay for it.
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ContactListError("the file is not a valid XLSX workbook (a damaged zip)") from None
    if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise ContactListError("the workbook is too large once uncompressed: split the list")
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False
        )
    except Exception:
        # openpyxl reports a malformed workbook with whatever its parsers raise (KeyError,
        # zipfile and XML errors, ValueError, TypeError...); all mean the same to us.
        raise ContactListError(
            "the file is not a readable XLSX workbook (damaged, or another format renamed)"
        ) from None
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise ContactListError("the workbook has no sheet")
        line = 0
        try:
            for values in sheets[0].iter_rows(values_only=True):
                line += 1
                yield [_cell_text(value) for value in values]
        except ContactListError:
            raise
        except Exception:
            raise ContactListError(
                f"the workbook is damaged after line {line} of its first sheet"
            ) from None
    finally:
        workbook.close()


def _rows(content: bytes, filename: str) -> Generator[tuple[int, list[str]], None, None]:
    """(line, cells) of every row, the header first; blank rows are left out."""
    _check_size(content)
    rows = _xlsx_rows(content) if _is_xlsx(content, filename) else _csv_rows(content)
    for line, row in enumerate(rows, start=1):
        if any(cell.strip() for cell in row):
            yield line, row
        elif line == 1:
            raise ContactListError("the first line must be the header, and it is blank")


def _header(row: Sequence[str]) -> tuple[str, ...]:
    cells = [cell.strip() for cell in row]
    while cells and not cells[-1]:
        cells.pop()
    return tuple(cells)


def header_of(content: bytes, *, filename: str) -> tuple[str, ...]:
    """The list's column names (the first line), for a mapping form."""
    with contextlib.closing(_rows(content, filename)) as rows:
        for _, row in rows:
            return _header(row)
    raise ContactListError("the file is empty")


# -- building contacts ------------------------------------------------------------------------


def _key(name: str) -> str:
    return name.strip().casefold()


def _column_indexes(header: Sequence[str], mapping: ColumnMapping) -> dict[str, int]:
    """Mapped name -> index of its column (the first, if the header repeats a name)."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(_key(name), index)
    missing = [column for column in mapping.columns() if _key(column) not in positions]
    if missing:
        found = ", ".join(repr(name) for name in header if name) or "nothing"
        raise ContactListError(
            f"the list has no column {', '.join(repr(c) for c in missing)} (its header: {found})"
        )
    return {column: positions[_key(column)] for column in mapping.columns()}


def _whole_number(text: str) -> int:
    """``"3"``, ``"-1"``, and ``"3.0"`` as a spreadsheet may write it; else ValueError."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise
        return int(value)


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(slots=True)
class _Draft:
    """A contact being assembled from one or more rows."""

    line: int
    lines: list[int]
    phones: list[str]
    name: str
    time_zone: str | None
    external_id: str | None
    priority: int
    data: dict[str, str]
    absorbed: bool = False

    def absorb(self, other: _Draft) -> None:
        """Take in a later contact: its lines and numbers, and values this one lacks."""
        self.lines.extend(other.lines)
        self.phones.extend(p for p in other.phones if p not in self.phones)
        self.name = self.name or other.name
        self.time_zone = self.time_zone or other.time_zone
        self.external_id = self.external_id or other.external_id
        for key, value in other.data.items():
            if not self.data.get(key):
                self.data[key] = value
        other.absorbed = True

    def freeze(self) -> ListedContact:
        return ListedContact(
            line=self.line,
            lines=tuple(sorted(self.lines)),
            phones=tuple(self.phones),
            name=self.name,
            time_zone=self.time_zone,
            external_id=self.external_id,
            priority=self.priority,
            data=MappingProxyType(dict(self.data)),
        )


def _row_phones(
    cell: Mapping[str, str], mapping: ColumnMapping, region: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """The row's valid numbers (deduplicated) and its bad cells (column, message)."""
    phones: list[str] = []
    bad: list[tuple[str, str]] = []
    for column in mapping.phone:
        raw = cell[column]
        if not raw:
            continue
        try:
            number = normalize_number(raw, region)
        except InvalidNumberError as exc:
            bad.append((column, str(exc)))
            continue
        if number not in phones:
            phones.append(number)
    return phones, bad


def read_contact_list(
    content: bytes,
    *,
    filename: str,
    mapping: ColumnMapping,
    default_region: str,
    max_rows: int = 200_000,
) -> ListImport:
    """The contacts of a CSV or XLSX list, and the problems of its rows.

    Numbers are normalised to E.164 (numbers without a country code read as
    ``default_region``'s). A row without a valid number is skipped, with a problem for each
    bad phone cell (or one for the row if it has none); a bad number beside a good one is
    ignored and noted. An unknown time zone is noted and left out (the number's zone will
    be used); a priority that is not a whole number is noted and taken as 0.

    Rows sharing any number are merged into the earliest: numbers are unioned, the
    earliest row's values win and a value it left empty is taken from a later row. A row
    joining two earlier contacts (one number of each) merges those too, so no two contacts
    share a number.

    Raises :class:`ContactListError` when the file cannot be used at all, including when
    it has more than ``max_rows`` data rows: a list that large is most likely the wrong
    file, and it is refused whole rather than cut at an arbitrary row.
    """
    check_region(default_region)  # the caller's mistake, not the file's: a plain ValueError
    # All rows are read before any is worked on, so that a list over the limit is refused
    # in the time it takes to parse it, not after normalising 200 000 numbers. Closing the
    # reader early closes the workbook.
    with contextlib.closing(_rows(content, filename)) as lines:
        try:
            _, first = next(lines)
        except StopIteration:
            raise ContactListError("the file is empty") from None
        indexes = _column_indexes(_header(first), mapping)
        rows: list[tuple[int, list[str]]] = []
        for entry in lines:
            rows.append(entry)
            if len(rows) > max_rows:
                raise ContactListError(
                    f"the list has more than {max_rows} rows: split it into several lists"
                )

    problems: list[LineProblem] = []
    drafts: list[_Draft] = []
    owner: dict[str, _Draft] = {}  # number -> the contact holding it
    skipped = 0
    for line, row in rows:
        cell = {
            column: row[index].strip() if index < len(row) else ""
            for column, index in indexes.items()
        }
        phones, bad = _row_phones(cell, mapping, default_region)
        if not phones:
            skipped += 1
            if bad:
                problems.extend(
                    LineProblem(line, column, f"{message}; the row is skipped (no valid number)")
                    for column, message in bad
                )
            else:
                column = mapping.phone[0] if len(mapping.phone) == 1 else None
                problems.append(LineProblem(line, column, "no phone number; the row is skipped"))
            continue
        problems.extend(
            LineProblem(line, column, f"{message}; the cell is ignored") for column, message in bad
        )

        time_zone: str | None = None
        if mapping.time_zone is not None and cell[mapping.time_zone]:
            time_zone = cell[mapping.time_zone]
            if not _valid_zone(time_zone):
                problems.append(
                    LineProblem(
                        line,
                        mapping.time_zone,
                        f"unknown time zone {time_zone!r} (an IANA name such as Asia/Shanghai);"
                        " the number's zone is used",
                    )
                )
                time_zone = None
        priority = 0
        if mapping.priority is not None and cell[mapping.priority]:
            text = cell[mapping.priority]
            try:
                priority = _whole_number(text)
            except ValueError:
                problems.append(
                    LineProblem(
                        line, mapping.priority, f"priority {text!r} is not a whole number; 0 used"
                    )
                )
        draft = _Draft(
            line=line,
            lines=[line],
            phones=phones,
            name=cell[mapping.name] if mapping.name is not None else "",
            time_zone=time_zone,
            external_id=(cell[mapping.external_id] or None) if mapping.external_id else None,
            priority=priority,
            data={column: cell[column] for column in mapping.fields},
        )

        # Every earlier contact sharing a number, earliest first, merges into the first.
        earlier = sorted(
            {id(d): d for p in phones if (d := owner.get(p)) is not None}.values(),
            key=lambda d: d.line,
        )
        if earlier:
            target = earlier[0]
            for other in earlier[1:]:
                target.absorb(other)
            target.absorb(draft)
        else:
            target = draft
            drafts.append(draft)
        for number in target.phones:
            owner[number] = target

    contacts = tuple(d.freeze() for d in drafts if not d.absorbed)
    return ListImport(
        contacts=contacts,
        problems=tuple(problems),
        rows=len(rows),
        merged=len(rows) - skipped - len(contacts),
    )
