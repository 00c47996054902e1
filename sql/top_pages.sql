-- The k highest-ranked pages, with every page tied at position k (as rank() numbers them).
-- Parameter :k (integer, e.g. 10).
--
-- A window without PARTITION BY sorts its whole input in one task ("WindowExec: No Partition
-- Defined"). Spark 3.5+ may cut its input to the top k of each partition first (an inferred
-- WindowGroupLimit), but only for k <= spark.sql.optimizer.windowGroupLimitThreshold (1000);
-- this query does not depend on it. The k-th largest rank comes from ORDER BY ... LIMIT, a
-- per-partition top k (TakeOrderedAndProject: k rows per partition move, no full sort), and
-- only the pages at or above it reach the window.
with cutoff as (
    select min(rank) as kth_rank
    from (
        select rank
        from pagerank
        order by rank desc
        limit :k
    )
),

contenders as (
    select
        pagerank.node,
        pagerank.rank
    from pagerank
    where pagerank.rank >= (select cutoff.kth_rank from cutoff)
),

ranked_final as (
    select
        node,
        rank,
        -- One partition, on purpose: it holds k rows plus ties, not the table.
        rank() over (order by rank desc) as position
    from contenders
)

select
    position,
    node,
    rank
from ranked_final
order by position, node
