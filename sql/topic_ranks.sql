-- The :k highest-ranked pages of every topic (topic-sensitive PageRank, MMDS 5.3), ties at
-- position k included. Parameter :k (integer, e.g. 5). Needs a pagerank run with --topics-file.
-- Each topic is ranked in its own task (PARTITION BY topic); the filter on position lets Spark
-- keep only the top k of each topic in every input partition before the shuffle (an inferred
-- WindowGroupLimit, for k <= spark.sql.optimizer.windowGroupLimitThreshold, 1000).
with ranked_final as (
    select
        topic,
        node,
        rank,
        rank() over (partition by topic order by rank desc) as position
    from pagerank_topics
)

select
    topic,
    position,
    node,
    rank
from ranked_final
where position <= :k
order by topic, position, node
