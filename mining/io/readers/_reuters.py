"""Reuters-21578 SGML: ``<REUTERS ... NEWID="n">`` elements with TOPICS and a BODY."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mining.io.readers._lines import strip
from mining.io.readers._stage import first_reason, line_checks, split_rows
from mining.io.readers.result import Probe


def _extract(pattern: str) -> Column:
    return F.regexp_extract(F.col("value"), pattern, 1)


def _unescape(body: Column) -> Column:
    """SGML entities of the bodies: drop the ``&#3;`` (end of text) that closes every body and
    decode ``&lt; &gt; &amp;`` (``&amp;`` last, so that ``&amp;lt;`` stays ``&lt;``)."""
    text = F.regexp_replace(body, r"&#3;\s*$", "")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = F.replace(text, F.lit(entity), F.lit(char))
    return text


def reuters_documents(
    lines: DataFrame, max_length: int
) -> tuple[DataFrame, DataFrame, Probe]:
    """Stage ``</REUTERS>``-separated records into documents; see ``read_documents``.

    Each record holds one ``<REUTERS>`` element (the first also the DOCTYPE line), the last
    record of a file only the final newline. The record's number in its file is the number of
    the element, which the quarantine reports with locator ``'document'``.
    """
    value = F.col("value")
    is_element = value.contains("<REUTERS")
    new_id = _extract(r'<REUTERS[^>]*\sNEWID="([^"]*)"')
    has_body = value.contains("<BODY>")
    body = _extract(r"(?s)<BODY>(.*?)</BODY>")
    topics = F.regexp_extract_all(_extract(r"(?s)<TOPICS>(.*?)</TOPICS>"), F.lit("<D>(.*?)</D>"))
    blank = strip(value) == ""
    no_body = is_element & (new_id != "") & ~has_body
    checks = [
        *line_checks(max_length, what="document"),
        (~is_element, "not a REUTERS element"),
        (new_id == "", "REUTERS element without NEWID"),
        (~value.contains("</BODY>"), "BODY without </BODY>"),
    ]
    staged = lines.select(
        "source_file", "block", "mid", "value",
        (blank | no_body).alias("skip"),
        first_reason(checks).alias("reason"),
        new_id.alias("doc_id"),
        _unescape(body).alias("text"),
        F.nullif(F.array_join(topics, ","), F.lit("")).alias("label"),
        is_element.alias("is_element"),
        no_body.alias("no_body"),
    )  # fmt: skip
    return split_rows(
        staged,
        "documents",
        locator="document",
        lines=lines,
        metrics={
            "reuters_elements": F.count_if(F.col("is_element")),
            "no_body": F.count_if(F.col("no_body")),
        },
    )
