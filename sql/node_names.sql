-- PageRank of pages given by name, for graphs read with --node-ids string (`pagerank_nodes`).
-- Parameter :names (comma-separated names, bound as a string: --param-string names=a,b).
with wanted as (
    select trim(name) as name
    from (select explode(split(:names, ',')) as name)
),

named_final as (
    select
        wanted.name,
        pagerank_nodes.node,
        pagerank.rank
    from wanted
    left join pagerank_nodes on wanted.name = pagerank_nodes.name
    left join pagerank on pagerank_nodes.node = pagerank.node
)

select *
from named_final
order by name
