-- PageRank, hub and authority of given nodes. Parameter :nodes (comma-separated ids, e.g. '1,2').
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
