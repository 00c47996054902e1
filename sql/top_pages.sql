-- The k highest-ranked pages. Parameter :k (integer, e.g. 10).
with ranked_final as (
    select
        node,
        rank,
        rank() over (order by rank desc) as position
    from pagerank
)

select
    position,
    node,
    rank
from ranked_final
where position <= :k
order by position, node
