-- PageRank, hub and authority of given nodes. Parameter :nodes (comma-separated ids, e.g. '1,2').
-- Works for every pagerank run: `pagerank` is always (node, rank). For string node ids, look the
-- ids up by name in `pagerank_nodes` (sql/node_names.sql).
with wanted as (
    select cast(trim(id) as bigint) as node
    from (select explode(split(:nodes, ',')) as id)
),

scored_final as (
    select
        wanted.node,
        pagerank.rank,
        hits.hub,
        hits.authority
    from wanted
    left join pagerank on wanted.node = pagerank.node
    left join hits on wanted.node = hits.node
)

select *
from scored_final
order by node
