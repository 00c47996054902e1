-- Pages whose spam mass is at least :threshold (e.g. 0.9), largest PageRank first.
with suspects_final as (
    select
        node,
        rank,
        trust_rank,
        spam_mass
    from spam_mass
    where spam_mass >= :threshold
)

select *
from suspects_final
order by rank desc, node
