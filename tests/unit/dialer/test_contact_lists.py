"""Reading contact lists from real CSV and XLSX bytes, as operators export them."""

from __future__ import annotations

import codecs
import datetime
import io
import zipfile
from collections.abc import Sequence

import openpyxl
import pytest

from hotline.dialer import contact_lists
from hotline.dialer.contact_lists import (
    ColumnMapping,
    ContactListError,
    LineProblem,
    ListImport,
    header_of,
    read_contact_list,
)

MAPPING = ColumnMapping(
    phone=("Mobile", "Office"),
    name="Name",
    time_zone="Zone",
    external_id="CRM id",
    priority="Priority",
    fields=("Note",),
)
HEADER = "Mobile,Office,Name,Zone,CRM id,Priority,Note\n"


def read(
    content: bytes,
    filename: str = "list.csv",
    mapping: ColumnMapping = MAPPING,
    *,
    region: str = "CN",
    max_rows: int = 200_000,
) -> ListImport:
    return read_contact_list(
        content, filename=filename, mapping=mapping, default_region=region, max_rows=max_rows
    )


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    """A real workbook, written by openpyxl, with ``rows`` on its first sheet."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    workbook.create_sheet("ignored").append(["Mobile"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- CSV -----------------------------------------------------------------------------------


def test_a_utf8_csv_gives_contacts_with_e164_numbers_and_their_data() -> None:
    content = (
        HEADER + "138 0013 8000,010 1234 5678,Zhang San,Asia/Shanghai,crm-1,5,vip\n"
        '+86 139 0013 9000,,"Li, Si",,,,"says ""call after 6"""\n'
    ).encode()
    listed = read(content)
    assert listed.rows == 2
    assert listed.merged == 0
    assert listed.problems == ()
    first, second = listed.contacts
    assert first.line == 2
    assert first.lines == (2,)
    assert first.phones == ("+8613800138000", "+861012345678")
    assert first.name == "Zhang San"
    assert first.time_zone == "Asia/Shanghai"
    assert first.external_id == "crm-1"
    assert first.priority == 5
    assert dict(first.data) == {"Note": "vip"}
    assert second.phones == ("+8613900139000",)
    assert second.name == "Li, Si"
    assert (second.time_zone, second.external_id, second.priority) == (None, None, 0)
    assert second.data["Note"] == 'says "call after 6"'
    with pytest.raises(TypeError):
        first.data["Note"] = "changed"  # type: ignore[index]


def test_header_names_match_ignoring_case_and_surrounding_spaces() -> None:
    content = b" mobile , NAME \n13800138000,Wang\n"
    listed = read(content, mapping=ColumnMapping(phone=("Mobile",), name="name"))
    assert [(c.phones, c.name) for c in listed.contacts] == [(("+8613800138000",), "Wang")]


def test_a_gbk_semicolon_csv_from_chinese_excel() -> None:
    content = ("手机;姓名;备注\r\n13800138000;张三;老客户\r\n13900139000;李四;回访\r\n").encode(
        "gbk"
    )
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    mapping = ColumnMapping(phone=("手机",), name="姓名", fields=("备注",))
    listed = read(content, mapping=mapping)
    assert [(c.name, c.phones[0], c.data["备注"]) for c in listed.contacts] == [
        ("张三", "+8613800138000", "老客户"),
        ("李四", "+8613900139000", "回访"),
    ]
    assert header_of(content, filename="导出.csv") == ("手机", "姓名", "备注")


def test_a_utf8_csv_with_a_bom_and_a_tab_separated_utf16_export() -> None:
    mapping = ColumnMapping(phone=("phone",), name="name")
    with_bom = codecs.BOM_UTF8 + "phone,name\n13800138000,王五\n".encode()
    assert read(with_bom, mapping=mapping).contacts[0].name == "王五"
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated.
    utf16 = "phone\tname\r\n(415) 555-2671\tBob\r\n".encode("utf-16")
    listed = read(utf16, "export.txt", mapping, region="US")
    assert [(c.phones, c.name) for c in listed.contacts] == [(("+14155552671",), "Bob")]


def test_one_column_without_a_delimiter_falls_back_to_comma() -> None:
    listed = read(b"phone\n13800138000\n13900139000\n", mapping=ColumnMapping(phone=("phone",)))
    assert [c.phones[0] for c in listed.contacts] == ["+8613800138000", "+8613900139000"]
    assert listed.contacts[0].name == ""


def test_lines_are_rows_a_quoted_line_break_and_blank_rows_included() -> None:
    content = b'phone,note\n13800138000,"two\nlines"\n\n,\n13900139000,x\n'
    listed = read(content, mapping=ColumnMapping(phone=("phone",), fields=("note",)))
    assert [c.line for c in listed.contacts] == [2, 5]
    assert listed.contacts[0].data["note"] == "two\nlines"
    assert listed.rows == 2  # the blank rows are not data


def test_short_rows_read_missing_cells_as_empty() -> None:
    content = (HEADER + "13800138000\n").encode()
    contact = read(content).contacts[0]
    assert (contact.name, contact.priority, dict(contact.data)) == ("", 0, {"Note": ""})


# -- rows and cells that cannot be used ----------------------------------------------------


def test_bad_rows_are_skipped_and_bad_cells_ignored_with_their_line() -> None:
    content = (
        (
            HEADER + "abc,12,Nobody,,,,\n"  # no valid number: skipped, one problem per cell
            ",,Empty,,,,\n"  # no number at all: skipped
            "138 0013 8000,not-a-number,Half,,,,\n"  # one good number: kept, the bad one noted
            "13900139000,,Zone,Mars/Olympus,,high,\n"  # unknown zone, priority not a number
            "13700137000,,Float,,,3.0,\n"  # a spreadsheet's 3.0 is 3
        ).encode()
    )
    listed = read(content)
    assert listed.rows == 5
    assert [c.name for c in listed.contacts] == ["Half", "Zone", "Float"]
    problems = {(p.line, p.column): p.message for p in listed.problems}
    assert set(problems) == {
        (2, "Mobile"),
        (2, "Office"),
        (3, None),
        (4, "Office"),
        (5, "Zone"),
        (5, "Priority"),
    }
    assert "contains letters" in problems[2, "Mobile"]
    assert problems[2, "Mobile"].endswith("the row is skipped (no valid number)")
    assert "too short" in problems[2, "Office"]
    assert problems[3, None] == "no phone number; the row is skipped"
    assert problems[4, "Office"].endswith("the cell is ignored")
    assert "unknown time zone 'Mars/Olympus'" in problems[5, "Zone"]
    assert "'high' is not a whole number" in problems[5, "Priority"]
    half, zone, floating = listed.contacts
    assert half.phones == ("+8613800138000",)
    assert (zone.time_zone, zone.priority) == (None, 0)
    assert floating.priority == 3
    assert listed.merged == 0


def test_the_row_problem_names_the_phone_column_when_there_is_only_one() -> None:
    listed = read(b"phone,name\n,Ann\n", mapping=ColumnMapping(phone=("phone",), name="name"))
    assert listed.problems == (LineProblem(2, "phone", "no phone number; the row is skipped"),)
    assert listed.contacts == ()


# -- duplicates ----------------------------------------------------------------------------


def test_rows_sharing_a_number_merge_into_the_first() -> None:
    content = (
        HEADER + "13800138000,,Zhang San,,crm-1,2,first\n"
        "13900139000,,Li Si,,,,\n"
        "+86 139 0013 9000,13700137000,Li Si again,,crm-9,9,later\n"  # same as line 3
        "13600136000,0086 138 0013 8000,Zhang duplicate,Asia/Shanghai,crm-2,7,x\n"
    ).encode()
    listed = read(content)
    assert listed.rows == 4
    assert listed.merged == 2
    zhang, li = listed.contacts
    assert zhang.lines == (2, 5)
    assert zhang.phones == ("+8613800138000", "+8613600136000")
    assert (zhang.name, zhang.external_id, zhang.priority) == ("Zhang San", "crm-1", 2)
    assert zhang.data["Note"] == "first"
    # A value the first row left empty is taken from the later one.
    assert zhang.time_zone == "Asia/Shanghai"
    assert li.line == 3
    assert li.lines == (3, 4)
    assert li.phones == ("+8613900139000", "+8613700137000")
    assert (li.name, li.external_id, li.priority, li.data["Note"]) == ("Li Si", "crm-9", 0, "later")


def test_a_row_sharing_numbers_with_two_contacts_joins_them_into_the_earliest() -> None:
    mapping = ColumnMapping(phone=("a", "b"), name="name")
    content = b"a,b,name\n13800138000,,First\n13900139000,,Second\n13900139000,13800138000,Both\n"
    listed = read(content, mapping=mapping)
    assert listed.merged == 2
    (only,) = listed.contacts
    assert only.name == "First"
    assert only.lines == (2, 3, 4)
    assert only.phones == ("+8613800138000", "+8613900139000")


def test_the_same_number_twice_in_a_row_is_kept_once() -> None:
    mapping = ColumnMapping(phone=("Mobile", "Office"))
    listed = read(b"Mobile,Office\n13800138000,+8613800138000\n", mapping=mapping)
    assert listed.contacts[0].phones == ("+8613800138000",)


# -- XLSX ----------------------------------------------------------------------------------


def test_an_xlsx_whose_phone_column_excel_made_numbers() -> None:
    content = xlsx(
        [
            ["Mobile", "Office", "Name", "Zone", "CRM id", "Priority", "Note"],
            [13800138000.0, "+86 10 1234 5678", "张三", "Asia/Shanghai", 1001, 3, None],
            [13900139000, None, "李四", None, "A-7", 2.0, datetime.date(2026, 5, 4)],
            [None, None, None, None, None, None, None],
            ["+1 (415) 555-2671", None, "Bob", "America/Los_Angeles", None, 1.5, 0.25],
        ]
    )
    listed = read(content, "客户.xlsx")
    assert listed.rows == 3
    zhang, li, bob = listed.contacts
    assert zhang.phones == ("+8613800138000", "+861012345678")
    assert (zhang.external_id, zhang.priority, zhang.data["Note"]) == ("1001", 3, "")
    assert (li.line, li.priority, li.external_id) == (3, 2, "A-7")
    assert li.data["Note"] == "2026-05-04"
    assert (bob.line, bob.phones, bob.time_zone) == (5, ("+14155552671",), "America/Los_Angeles")
    assert (bob.priority, bob.data["Note"]) == (0, "0.25")
    assert listed.problems == (
        LineProblem(5, "Priority", "priority '1.5' is not a whole number; 0 used"),
    )


def test_an_xlsx_is_recognised_by_its_bytes_whatever_its_name() -> None:
    content = xlsx([["phone"], ["138 0013 8000"], [13900139000.0]])
    listed = read(content, "upload.bin", ColumnMapping(phone=("phone",)))
    assert [c.phones[0] for c in listed.contacts] == ["+8613800138000", "+8613900139000"]
    assert header_of(content, filename="upload") == ("phone",)


def test_header_of_an_xlsx_drops_trailing_empty_columns() -> None:
    content = xlsx([["Mobile", " Name ", None, None], ["13800138000", "x", None, "stray"]])
    assert header_of(content, filename="list.xlsx") == ("Mobile", "Name")


def test_cell_text_is_what_the_operator_sees() -> None:
    assert contact_lists._cell_text(13800138000.0) == "13800138000"
    assert contact_lists._cell_text(8613800138000) == "8613800138000"
    assert contact_lists._cell_text(2.5) == "2.5"
    assert contact_lists._cell_text(True) == "TRUE"
    assert contact_lists._cell_text(None) == ""
    assert contact_lists._cell_text(datetime.datetime(2026, 1, 2, 3, 4)) == "2026-01-02T03:04:00"
    assert contact_lists._cell_text(datetime.datetime(2026, 1, 2)) == "2026-01-02"


# -- files that cannot be used -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "list.csv", "the file is empty"),
        (b" \r\n\n", "list.csv", "the file is empty"),
        (b"\n13800138000\n", "list.csv", "header"),
        (b"Mobile,Name\n\xff\xfe\xff garbage \x80\n", "list.csv", "neither CSV text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "photo.csv", "neither CSV text"),
        (b"Mobile\x00,Name\n", "list.csv", "neither CSV text"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls", r"\.xls"),
        (b"PK\x03\x04 not really a zip", "list.csv", "not a valid XLSX"),
        (b"Name,Office\nAnn,13800138000\n", "list.csv", "no column 'Mobile'"),
    ],
)
def test_unusable_files_raise_contact_list_error(
    content: bytes, filename: str, message: str
) -> None:
    with pytest.raises(ContactListError, match=message):
        read(content, filename)


def test_a_truncated_or_foreign_zip_is_not_a_workbook() -> None:
    good = xlsx([["Mobile"], ["13800138000"]])
    with pytest.raises(ContactListError, match="XLSX"):
        read(good[: len(good) // 2], "list.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ContactListError, match="not a readable XLSX"):
        read(buffer.getvalue(), "list.xlsx")
    with pytest.raises(ContactListError, match="not a readable XLSX"):
        header_of(buffer.getvalue(), filename="list.xlsx")


def test_the_missing_column_message_lists_the_header_found() -> None:
    with pytest.raises(ContactListError, match=r"no column 'Mobile', 'Note' \(its header: 'a'"):
        read(b"a,Name,Office,Zone,CRM id,Priority\n1,2,3,4,5,6\n")


def test_a_header_alone_gives_an_empty_import() -> None:
    assert read(HEADER.encode()) == ListImport((), (), 0, 0)


def test_an_oversized_cell_is_a_malformed_csv_with_its_line() -> None:
    content = b"phone,note\n13800138000,ok\n13900139000," + b"x" * 200_000 + b"\n"
    with pytest.raises(ContactListError, match="line 3: the CSV is malformed"):
        read(content, mapping=ColumnMapping(phone=("phone",), fields=("note",)))


def test_a_list_over_the_row_limit_is_refused_whole() -> None:
    content = b"phone\n" + b"13800138000\n" * 101
    mapping = ColumnMapping(phone=("phone",))
    with pytest.raises(ContactListError, match="more than 100 rows"):
        read(content, mapping=mapping, max_rows=100)
    assert read(content, mapping=mapping, max_rows=101).merged == 100


def test_the_default_limit_refuses_200001_rows_without_working_on_them() -> None:
    content = b"phone,name\n" + b"13800138000,x\n" * 200_001
    with pytest.raises(ContactListError, match="more than 200000 rows"):
        read(content, mapping=ColumnMapping(phone=("phone",)))


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    content = b"phone\n" + b"1" * contact_lists.MAX_FILE_BYTES
    with pytest.raises(ContactListError, match="too large"):
        read(content, mapping=ColumnMapping(phone=("phone",)))
    with pytest.raises(ContactListError, match="too large"):
        header_of(content, filename="big.csv")


def test_a_zip_bomb_is_refused_by_its_uncompressed_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_lists, "MAX_XLSX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(ContactListError, match="too large once uncompressed"):
        read(xlsx([["Mobile"], ["13800138000"]]), "list.xlsx")


# -- the mapping and the caller's mistakes -----------------------------------------------


def test_a_mapping_needs_a_phone_column_given_as_a_tuple() -> None:
    with pytest.raises(ValueError, match="at least one phone column"):
        ColumnMapping(phone=())
    with pytest.raises(TypeError, match="tuple of column names"):
        ColumnMapping(phone="Mobile")  # type: ignore[arg-type]
    assert MAPPING.columns() == ["Mobile", "Office", "Name", "Zone", "CRM id", "Priority", "Note"]


def test_a_bad_default_region_is_the_caller_s_error_not_the_file_s() -> None:
    with pytest.raises(ValueError, match="unknown default region") as caught:
        read((HEADER + "13800138000\n").encode(), region="XX")
    assert not isinstance(caught.value, ContactListError)
