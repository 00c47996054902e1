"""Let ``mining sql`` run only read-only queries, decided on Spark's parsed plan, not on the text.

:func:`check_read_only` asks Spark for ``EXPLAIN EXTENDED <query>`` (parsing and analysis only;
commands are not run, and it works over Spark Connect) and accepts the query only when

* the root of the parsed plan is a query (SELECT, WITH, VALUES, TABLE) or a DESCRIBE/SHOW
  (:data:`QUERY_ROOTS`, :data:`DESCRIBE_ROOTS`); a user's ``EXPLAIN [mode] q`` is checked as ``q``;
* no node of the parsed or analyzed plan writes, changes the session or runs code
  (``InsertIntoStatement``, ``ScriptTransformation``, any other ``...Command``);
* no ``reflect``/``java_method``/``try_reflect`` call appears (they call any Java method);
* every relation is a one-part name (``text.`/etc/passwd``` reads a file) and, once analyzed,
  every file or catalog relation lies under a temporary view (the warehouse's).

One exception is decided on the text: ``EXECUTE IMMEDIATE`` runs its statement while it is being
analyzed, so even EXPLAIN would execute it; any query containing the word IMMEDIATE is refused
before Spark sees it (a string literal with that word is refused too: failing closed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pyspark.sql import SparkSession

from mining.errors import InputError, MiningError

PARSED, ANALYZED, OPTIMIZED = (f"== {s} Logical Plan ==" for s in ("Parsed", "Analyzed",
                                                                    "Optimized"))
PLANNING_FAILED = "Error occurred during query planning:"

QUERY_ROOTS = frozenset({
    "Project", "Filter", "Aggregate", "Sort", "GlobalLimit", "LocalLimit", "Offset", "Tail",
    "Distinct", "Deduplicate", "Union", "Intersect", "Except", "Join", "Window", "Generate",
    "Pivot", "Unpivot", "Sample", "Expand", "CTE", "UnresolvedWith", "WithCTE",
    "WithWindowDefinition", "LocalRelation", "OneRowRelation", "UnresolvedInlineTable",
    "UnresolvedRelation", "UnresolvedTableValuedFunction", "PlanWithUnresolvedIdentifier",
    "SubqueryAlias", "UnresolvedSubqueryColumnAliases", "UnresolvedHaving", "UnresolvedHint",
    "Repartition", "RepartitionByExpression", "RebalancePartitions", "PipeOperator",
})
DESCRIBE_ROOTS = frozenset({
    "DescribeRelation", "DescribeRelationJsonCommand", "DescribeColumn", "DescribeFunction",
    "DescribeNamespace", "ShowTables", "ShowTablesExtended", "ShowTableExtended", "ShowViews",
    "ShowColumns", "ShowFunctions", "ShowNamespaces", "ShowNamespacesCommand",
    "ShowCatalogsCommand", "ShowCurrentNamespaceCommand", "ShowCreateTable",
    "ShowTableProperties", "ShowPartitions",
})
# Older Spark versions (and a legacy setting) wrap a query with bound parameters in one of these.
PARAMETER_WRAPPERS = frozenset({"NameParameterizedQuery", "PosParameterizedQuery",
                                "GeneralParameterizedQuery"})
FORBIDDEN_FUNCTIONS = ("reflect", "java_method", "try_reflect")

_NODE = re.compile(r"^(?P<indent>[\s:|+\-]*)['!]*(?P<name>[A-Za-z_]\w*)")
_WRITE_NODE = re.compile(
    r"(Insert|Create|Drop|Alter|Cache|Uncache|Set|Reset|Unset|Add|Load|Truncate|Delete|Update"
    r"|Merge|Replace|Refresh|Rename|Repair|Recover|Analyze|Clear|Write|Overwrite|Append"
    r"|Comment|Declare|Use|Execute|UnresolvedExecute|Compound|Call$|CommandResult)")
_FUNCTION_CALL = re.compile(
    r"\b(?P<f>reflect|java_method|try_reflect)\s*\(|expressionwithunresolvedidentifier\(\s*'?"
    r"(?:\w+\.)*(?P<g>reflect|java_method|try_reflect)\b", re.IGNORECASE)
_RELATION = re.compile(r"'?Unresolved(?:Relation|TableOrView|Table|View) \[(?P<parts>[^\]]*)\]")
_FILE_RELATIONS = ("Relation", "HiveTableRelation", "DataSourceV2Relation", "StreamingRelation")
_EXPLAIN_PREFIX = re.compile(
    r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*EXPLAIN\s+(?:(?:EXTENDED|FORMATTED|COST|CODEGEN)\s+)?",
    re.IGNORECASE | re.DOTALL)
_SQLSTATE = re.compile(r"SQLSTATE: (\w{5})")


class ReadOnlyError(InputError):
    """A query that is not read-only, or not a single statement; ``mining sql`` exits 2."""

    def __init__(self, found: str) -> None:
        super().__init__(f"only read-only queries are allowed: {found}")
        self.found = found


class PlanError(MiningError):
    """Spark could not analyze or plan the query; carries the SQLSTATE of its message."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate

    def getSqlState(self) -> str | None:  # noqa: N802 (the name PySpark's errors use)
        """The SQLSTATE Spark gave, so :func:`mining.errors.is_user_error` can judge it."""
        return self.sqlstate


def check_read_only(spark: SparkSession, query: str,
                    params: Mapping[str, Any] | None = None) -> None:
    """Raise unless ``query`` is one read-only statement (see the module docstring).

    Parameters
    ----------
    spark
        The session the query will run in (its temporary views are resolved).
    query
        The query text, exactly as it will be run.
    params
        Named parameters, bound as they will be when the query runs.

    Raises
    ------
    ReadOnlyError
        Naming the first forbidden node, function or relation found.
    PlanError
        When Spark cannot analyze or plan the query (unknown table, division by zero).
    pyspark.errors.PySparkException
        A parse error or an unbound parameter, raised by Spark itself.
    """
    if re.search("immediate", query, re.IGNORECASE):
        raise ReadOnlyError("EXECUTE IMMEDIATE (or the word IMMEDIATE anywhere in the query)")
    inner = strip_explain(query)
    text = _explain(spark, inner, params)
    parsed, analyzed = plan_sections(text)
    problem = parsed_problem(parsed)
    if problem:
        raise ReadOnlyError(problem)
    failure = _analysis_failure(analyzed)
    if failure is not None and "SQL_RESTRICTED_MODE" in str(failure):
        raise ReadOnlyError(str(failure))  # the session refused reflect(...) or TRANSFORM itself
    if failure is not None:
        raise failure
    problem = analyzed_problem(analyzed)
    if problem:
        raise ReadOnlyError(problem)


def strip_explain(query: str) -> str:
    """``q`` for ``EXPLAIN [EXTENDED|FORMATTED|COST|CODEGEN] q`` (after comments), else ``query``.

    A prefix not recognised here stays, and ``EXPLAIN EXTENDED EXPLAIN q`` is then refused: the
    check fails closed.
    """
    match = _EXPLAIN_PREFIX.match(query)
    return query[match.end():] if match else query


def _explain(spark: SparkSession, query: str, params: Mapping[str, Any] | None) -> str:
    from pyspark.errors import ParseException

    try:
        rows = spark.sql(f"EXPLAIN EXTENDED {query}", args=dict(params) if params else None
                         ).collect()
    except ParseException as exc:
        if _looks_like_several_statements(query):
            first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
            raise ReadOnlyError(f"one statement only, no ';' between statements and no "
                                f"BEGIN ... END script ({first})") from None
        raise
    # A planning failure comes back as one row per line of its message.
    return "\n".join(str(row[0]) for row in rows)


def _looks_like_several_statements(query: str) -> bool:
    # Only words the message: the parser has already refused the query.
    body = query.strip().rstrip(";")
    return ";" in body or bool(re.match(r"(?:\s|--[^\n]*\n|/\*.*?\*/)*BEGIN\b", body,
                                        re.IGNORECASE | re.DOTALL))


def plan_sections(text: str) -> tuple[str, str]:
    """The parsed and the analyzed sections of ``EXPLAIN EXTENDED`` output.

    Raises
    ------
    PlanError
        When Spark could not plan the query (the output is then its error message).
    ReadOnlyError
        When a section header appears more than once (a string literal can print one, which
        would make the sections ambiguous).
    """
    if text.startswith(PLANNING_FAILED):
        message = next((ln.strip() for ln in text[len(PLANNING_FAILED):].splitlines()
                        if ln.strip()), "Spark could not plan the query")
        raise PlanError(message, _sqlstate(text))
    if text.count(PARSED) != 1 or text.count(ANALYZED) != 1 or text.count(OPTIMIZED) > 1:
        raise ReadOnlyError("a plan that cannot be checked (a literal prints a plan header)")
    parsed = text.split(PARSED, 1)[1].split(ANALYZED, 1)[0]
    analyzed = text.split(ANALYZED, 1)[1].split(OPTIMIZED, 1)[0]
    return parsed.strip("\n"), analyzed.strip("\n")


def nodes(section: str) -> Iterator[tuple[int, str]]:
    """``(indent, node name)`` for each line of a plan that starts with a node."""
    for line in section.splitlines():
        match = _NODE.match(line)
        if match:
            yield len(match.group("indent")), match.group("name")


def parsed_problem(parsed: str) -> str | None:
    """What makes a parsed plan not read-only, or ``None``."""
    found = list(nodes(parsed))
    names = [name for _, name in found]
    while names and names[0] in PARAMETER_WRAPPERS:
        names = names[1:]
    if not names or names[0] not in QUERY_ROOTS | DESCRIBE_ROOTS:
        return names[0] if names else "an empty plan"
    return _forbidden_node(names) or _forbidden_call(parsed) or _path_relation(parsed)


def analyzed_problem(analyzed: str) -> str | None:
    """What makes a (successfully) analyzed plan not read-only, or ``None``."""
    first, _, rest = analyzed.partition("\n")
    if ": " in first:  # the output schema ("node: bigint, name: string"), not a node
        analyzed = rest
    names = [name for _, name in nodes(analyzed)]
    return _forbidden_node(names) or _forbidden_call(analyzed) or _relation_outside_view(analyzed)


def _forbidden_node(names: list[str]) -> str | None:
    for name in names:
        if "ScriptTransformation" in name or name == "InsertIntoDir":
            return name
        if name.startswith(("Describe", "Show")):
            continue  # every DESCRIBE and SHOW command only reads the catalog
        if _WRITE_NODE.match(name) or name.endswith(("Command", "Statement")):
            return name
    return None


def _forbidden_call(section: str) -> str | None:
    match = _FUNCTION_CALL.search(section)
    return f"{(match.group('f') or match.group('g')).lower()}(...)" if match else None


def _path_relation(parsed: str) -> str | None:
    for match in _RELATION.finditer(parsed):
        parts = match.group("parts").split(", ")
        if len(parts) > 1 or not re.fullmatch(r"\w+", parts[0]):
            return (f"{'.'.join(parts)} (a relation named in more than one part, such as a "
                    "file path; query the warehouse tables by name)")
    return None


def _relation_outside_view(analyzed: str) -> str | None:
    # Warehouse tables are temporary views over their files; a file or catalog relation that is
    # not under a view was reached some other way (a path, IDENTIFIER(expression)).
    stack: list[tuple[int, str]] = []
    for indent, name in nodes(analyzed):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if name in _FILE_RELATIONS and not any(n == "View" for _, n in stack):
            return f"{name} outside the warehouse views (a file or catalog table)"
        stack.append((indent, name))
    return None


def _analysis_failure(analyzed: str) -> PlanError | None:
    first = analyzed.split("\n", 1)[0]
    match = re.match(r"(?:org\.apache\.spark|java|scala)\.[\w.$]*(?:Exception|Error): (?P<msg>.*)",
                     first)
    if not match:
        return None
    message = re.sub(r";?\s*line \d+ pos \d+;?$", "", match.group("msg")).rstrip(";")
    return PlanError(message, _sqlstate(analyzed))


def _sqlstate(text: str) -> str | None:
    match = _SQLSTATE.search(text)
    return match.group(1) if match else None
