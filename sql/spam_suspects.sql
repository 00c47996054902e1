-- Pages whose spam mass is at least :threshold (e.g. 0.9), largest PageRank first.
-- `spam_mass` (node, rank, trust_rank, spam_mass, suspect) is published by the demo and by the
-- pagerank job with --trusted; `suspect` is the job's own flag at its spam_threshold.
with suspects_final as (
    select
        node,
        rank,
        trust_rank,
        spam_mass,
        suspect
    from spam_mass
    where spam_mass >= :threshold
)

select *
from suspects_final
order by rank desc, node
